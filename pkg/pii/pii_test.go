package pii

import (
	"flag"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func TestFind(t *testing.T) {
	tests := []struct {
		text string
		want []Kind
	}{
		// True positives.
		{"携帯は090-1234-5678です", []Kind{Phone}},
		{"電話 03-1234-5678 までお願いします", []Kind{Phone}},
		{"０９０１２３４５６７８に電話ください", []Kind{Phone}},
		{"0120 123 456", []Kind{Phone}},
		{"call me at +81 90-1234-5678", []Kind{Phone}},
		{"〒160-0023 に送ってください", []Kind{Postal}},
		{"郵便番号は160-0023です", []Kind{Postal}},
		{"東京都新宿区に住んでいます", []Kind{Address}},
		{"神奈川県横浜市中区です", []Kind{Address}},
		{"北海道札幌市の近くです", []Kind{Address}},
		{"西新宿2丁目にいます", []Kind{Address}},
		{"メールは taro.yamada@example.co.jp です", []Kind{Email}},
		{"名前は山田太郎です", []Kind{Name}},
		{"本名：佐藤花子", []Kind{Name}},
		{"山田太郎と申します", []Kind{Name}},
		{"My name is John Smith.", []Kind{Name}},
		{"〒160-0023 東京都新宿区西新宿2丁目 090-1234-5678", []Kind{Phone, Postal, Address}},
		// False positives to avoid.
		{"こんばんは。最近眠れません。", nil},
		{"2026-12-03に面談があります", nil},
		{"12月3日（木）の15:00からです", nil},
		{"東京都内の会社で働いています", nil},
		{"首都圏に住んでいます", nil},
		{"県立高校に通っています", nil},
		{"3人で話しました。1234円でした", nil},
		{"郵便局で 1000 円の切手を買った", nil},
		{"I work at an office in Tokyo.", nil},
		{"my name is not important", nil},
		{"名前は言えません", nil},
		{"@ mark and example.com", nil},
		{"#12 の内容で決定しました。", nil},
	}
	for _, tt := range tests {
		t.Run(tt.text, func(t *testing.T) {
			if got := Find(tt.text); !slices.Equal(got, tt.want) {
				t.Errorf("Find(%q) = %v, want %v", tt.text, got, tt.want)
			}
		})
	}
}

var update = flag.Bool("update", false, "rewrite the client app's copy of the table")

// TestClientTable keeps the client app's table the Go one: one table,
// two languages.
func TestClientTable(t *testing.T) {
	path := filepath.Join("..", "..", ClientTablePath)
	if *update {
		if err := os.WriteFile(path, []byte(JS()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != JS() {
		t.Fatalf("%s differs from the Go table: go test ./pkg/pii -run TestClientTable -update", ClientTablePath)
	}
}
