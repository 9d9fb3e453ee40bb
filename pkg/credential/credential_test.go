package credential

import (
	"strings"
	"testing"
)

// cheap keeps the tests fast; the format and comparison are what is tested.
var cheap = Params{Time: 1, Memory: 1024, Threads: 1}

func TestHashVerify(t *testing.T) {
	h := Hash("correct horse", cheap)
	if !strings.HasPrefix(h, "$argon2id$v=19$m=1024,t=1,p=1$") {
		t.Fatalf("hash format: %s", h)
	}
	if h == Hash("correct horse", cheap) {
		t.Fatal("two hashes of the same password are equal: salt missing")
	}
	tests := []struct {
		pw   string
		want bool
	}{
		{"correct horse", true},
		{"correct horse ", false},
		{"", false},
	}
	for _, tt := range tests {
		ok, err := Verify(tt.pw, h)
		if err != nil || ok != tt.want {
			t.Errorf("Verify(%q) = %v, %v; want %v", tt.pw, ok, err, tt.want)
		}
	}
}

func TestVerifyMalformed(t *testing.T) {
	for _, h := range []string{"", "plain", "$argon2i$v=19$m=1,t=1,p=1$AA$AA", "$argon2id$v=19$m=x$AA$AA", "$argon2id$v=19$m=1024,t=1,p=1$!!$AA"} {
		if _, err := Verify("x", h); err == nil {
			t.Errorf("Verify accepted %q", h)
		}
	}
}

func TestGenerated(t *testing.T) {
	seen := map[string]bool{}
	for i := 0; i < 2000; i++ {
		id, pw := NewLoginID(), NewPassword()
		if len(id) != 9 || id[4] != '-' || len(pw) != 14 {
			t.Fatalf("shape: %q %q", id, pw)
		}
		for _, c := range strings.ReplaceAll(id+pw, "-", "") {
			if !strings.ContainsRune(Alphabet, c) {
				t.Fatalf("character %q outside alphabet", c)
			}
		}
		if seen[id] {
			t.Fatalf("duplicate login ID %s after %d", id, i)
		}
		seen[id] = true
	}
	// Every character of the alphabet turns up: no bias bug cuts one out.
	all := Random(20000)
	for _, c := range Alphabet {
		if !strings.ContainsRune(all, c) {
			t.Fatalf("character %q never drawn", c)
		}
	}
	for _, lookalike := range "01ilo" {
		if strings.ContainsRune(Alphabet, lookalike) {
			t.Fatalf("alphabet contains look-alike %q", lookalike)
		}
	}
}

func TestNormalize(t *testing.T) {
	tests := []struct{ in, id, pw string }{
		{"ABCD-EFGH", "abcd-efgh", "ABCD-EFGH"},
		{" abcd efgh ", "abcd-efgh", " abcd efgh "},
		{"abcdefgh", "abcd-efgh", "abcdefgh"},
		{"Admin", "admin", "Admin"},
		{"ABCD EFGH JKMN", "abcd efgh jkmn", "abcd-efgh-jkmn"},
		{"abcdefghjkmn", "abcdefghjkmn", "abcd-efgh-jkmn"},
		// Typed on a Japanese keyboard: full width, the long vowel mark.
		{"ＡＢＣＤーＥＦＧＨ", "abcd-efgh", "ＡＢＣＤーＥＦＧＨ"},
		{"ａｂｃｄ　ｅｆｇｈ", "abcd-efgh", "ａｂｃｄ　ｅｆｇｈ"},
		{"ａｂｃｄ－ｅｆｇｈ－ｊｋｍｎ", "ａｂｃｄ－ｅｆｇｈ－ｊｋｍｎ", "abcd-efgh-jkmn"},
		{"abcd—efgh—jkmn", "abcd—efgh—jkmn", "abcd-efgh-jkmn"},
		// Other passwords stay exactly as typed.
		{"パスワードー１", "パスワードー１", "パスワードー１"},
	}
	for _, tt := range tests {
		if got := NormalizeLoginID(tt.in); got != tt.id {
			t.Errorf("NormalizeLoginID(%q) = %q, want %q", tt.in, got, tt.id)
		}
		if got := NormalizePassword(tt.in); got != tt.pw {
			t.Errorf("NormalizePassword(%q) = %q, want %q", tt.in, got, tt.pw)
		}
	}
}

func TestToken(t *testing.T) {
	a, b := NewToken(), NewToken()
	if a == b || len(a) != 43 {
		t.Fatalf("tokens %q %q", a, b)
	}
	if string(TokenHash(a)) == string(TokenHash(b)) || len(TokenHash(a)) != 32 {
		t.Fatal("token hash")
	}
}
