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
