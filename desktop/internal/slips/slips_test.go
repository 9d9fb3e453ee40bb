package slips

import (
	"bytes"
	"encoding/csv"
	"strings"
	"testing"
	"time"

	"github.com/taiwa-chat/taiwa/pkg/protocol"
)

func sheet() Sheet {
	until := time.Date(2027, 3, 31, 0, 0, 0, 0, time.UTC)
	return Sheet{OrgName: "こころ相談室", AppURL: "https://taiwa.example.org/", Slips: []protocol.Credentials{
		{Account: protocol.Account{Nickname: "さくら"}, LoginID: "abcd-efgh", Password: "jkmn-pqrs-tuvw"},
		{Account: protocol.Account{Nickname: "<script>alert(1)</script>", AccessUntil: &until}, LoginID: "hjkm-npqr", Password: "2345-6789-abcd"},
		{Account: protocol.Account{Nickname: "=HYPERLINK(\"x\")"}, LoginID: "wxyz-2345", Password: "efgh-jkmn-pqrs"},
	}}
}

func TestHTML(t *testing.T) {
	var b bytes.Buffer
	if err := WriteHTML(&b, sheet()); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{"さくら", "abcd-efgh", "jkmn-pqrs-tuvw", "2027-03-31", "https://taiwa.example.org/", "&lt;script&gt;"} {
		if !strings.Contains(out, want) {
			t.Errorf("sheet lacks %q", want)
		}
	}
	if strings.Contains(out, "<script>alert") {
		t.Fatal("nickname not escaped")
	}
	if n := strings.Count(out, `class="slip"`); n != 3 {
		t.Fatalf("%d slips, want 3", n)
	}
}

func TestCSV(t *testing.T) {
	var b bytes.Buffer
	if err := WriteCSV(&b, sheet()); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&b).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 4 || rows[1][0] != "さくら" || rows[1][1] != "abcd-efgh" || rows[2][3] != "2027-03-31" {
		t.Fatalf("rows = %v", rows)
	}
	if !strings.HasPrefix(rows[3][0], "'=") {
		t.Fatalf("formula not defused: %q", rows[3][0])
	}
}

// A staff member's slip is a staff slip: the server to enter in the
// desktop app and a first password to change, not the client's phone app.
func TestStaffSlip(t *testing.T) {
	s := Sheet{OrgName: "こころ相談室", AppURL: "https://taiwa.example.org/a/x/", Server: "https://taiwa.example.org", Slips: []protocol.Credentials{
		{Account: protocol.Account{Nickname: "田中", Role: protocol.RoleCounselor}, LoginID: "abcd-efgh", Password: "jkmn-pqrs-tuvw"},
	}}
	var b bytes.Buffer
	if err := WriteHTML(&b, s); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{"相談員", "https://taiwa.example.org", "パスワードを変更", "abcd-efgh", "jkmn-pqrs-tuvw"} {
		if !strings.Contains(out, want) {
			t.Errorf("staff slip lacks %q", want)
		}
	}
	for _, not := range []string{"スマートフォン", "/a/x/"} {
		if strings.Contains(out, not) {
			t.Errorf("staff slip carries the client's text %q", not)
		}
	}
	var c bytes.Buffer
	if err := WriteCSV(&c, s); err != nil {
		t.Fatal(err)
	}
	rows, _ := csv.NewReader(&c).ReadAll()
	if len(rows) != 2 || rows[0][1] != "role" || rows[1][4] != "https://taiwa.example.org" {
		t.Fatalf("staff CSV %v", rows)
	}
}

// Each client's page carries the client guide as its second half, with
// the organisation's real retention and contact; the staff sheet does not.
func TestClientGuideOnEachPage(t *testing.T) {
	tests := []struct {
		name      string
		retention int64
		contact   string
		want      []string
	}{
		{"seven days, own contact", 7 * 86400, "保健室 <内線12>", []string{"7日後", "保健室 &lt;内線12&gt;"}},
		{"twelve hours, default contact", 12 * 3600, "", []string{"12時間後", "この用紙を受け取った窓口"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := sheet()
			s.RetentionSeconds, s.Contact = tt.retention, tt.contact
			var b bytes.Buffer
			if err := WriteHTML(&b, s); err != nil {
				t.Fatal(err)
			}
			out := b.String()
			if n := strings.Count(out, `class="guide"`); n != len(s.Slips) {
				t.Fatalf("%d guides for %d slips", n, len(s.Slips))
			}
			if n := strings.Count(out, `class="client"`); n != len(s.Slips) {
				t.Fatalf("%d client pages for %d slips", n, len(s.Slips))
			}
			for _, want := range append(tt.want, "すぐに閉じる", "ホーム画面に追加", "https://taiwa.example.org/") {
				if !strings.Contains(out, want) {
					t.Errorf("sheet lacks %q", want)
				}
			}
		})
	}
	staff := Sheet{OrgName: "こころ相談室", Server: "https://taiwa.example.org", Slips: []protocol.Credentials{
		{Account: protocol.Account{Nickname: "田中", Role: protocol.RoleCounselor}, LoginID: "abcd-efgh", Password: "jkmn-pqrs-tuvw"},
	}}
	var b bytes.Buffer
	if err := WriteHTML(&b, staff); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(b.String(), `class="guide"`) {
		t.Fatal("the staff sheet carries the client guide")
	}
}
