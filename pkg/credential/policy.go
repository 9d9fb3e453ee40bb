package credential

import (
	"strings"
	"unicode/utf8"

	"github.com/taiwa-chat/taiwa/pkg/protocol"
)

// Staff password policy: staff choose their own passwords (clients keep
// the generated ones). Length matters most (NIST SP 800-63B); beyond it,
// refuse what guessers try first. No composition rules: they make
// passwords harder to remember, not to guess.
//
// MaxPasswordBytes is the one upper bound for every password, checked by
// the policy and by sign-in alike, in bytes because that is what hashing
// and request limits see: 512 bytes hold 128 characters of any script
// (170 kanji), so a password the policy accepts can always be used.
const (
	MinStaffPassword = 12
	MaxPasswordBytes = 512
)

// common are passwords and stems that guessers try first; a password
// made of one of them (with digits or symbols around it) is refused.
var common = []string{
	"password", "passw0rd", "qwerty", "asdfgh", "zxcvbn", "letmein", "welcome", "iloveyou", "admin",
	"abc123", "123456", "1q2w3e", "dragon", "monkey", "sunshine", "princess", "football", "baseball",
	"master", "shadow", "superman", "trustno1", "changeme", "secret", "taiwa", "counsel", "soudan",
	"kaunseraa", "aishiteru", "sakura", "himawari", "tokyo", "osaka", "nihon", "nippon", "pokemon",
}

// CheckStaffPassword reports why a password a staff member chose is not
// acceptable, naming the rule (the message is shown to them).
func CheckStaffPassword(password, loginID, nickname string) error {
	n := utf8.RuneCountInString(password)
	switch {
	case n < MinStaffPassword:
		return protocol.Errorf(protocol.CodeInvalid, "password must be at least %d characters", MinStaffPassword)
	case len(password) > MaxPasswordBytes:
		return protocol.Errorf(protocol.CodeInvalid, "password must be at most %d bytes (128 characters of any script)", MaxPasswordBytes)
	}
	lower := strings.ToLower(password)
	for _, part := range []string{strings.ToLower(loginID), strings.ToLower(nickname)} {
		if utf8.RuneCountInString(part) >= 3 && strings.Contains(lower, part) {
			return protocol.Errorf(protocol.CodeInvalid, "password must not contain your login ID or name")
		}
	}
	if distinct(lower) < 5 {
		return protocol.Errorf(protocol.CodeInvalid, "password repeats too few characters")
	}
	core := strings.TrimFunc(lower, func(r rune) bool { return !('a' <= r && r <= 'z') })
	for _, c := range common {
		if core == c || (strings.HasPrefix(lower, c) || strings.HasSuffix(lower, c)) && utf8.RuneCountInString(lower)-len(c) < 6 {
			return protocol.Errorf(protocol.CodeInvalid, "password is too common")
		}
	}
	if isSequence(lower) {
		return protocol.Errorf(protocol.CodeInvalid, "password is a simple sequence")
	}
	return nil
}

func distinct(s string) int {
	seen := map[rune]bool{}
	for _, r := range s {
		seen[r] = true
	}
	return len(seen)
}

// isSequence catches "123456789012", "abcdefghijkl" and the like.
func isSequence(s string) bool {
	rs := []rune(s)
	up, down := 0, 0
	for i := 1; i < len(rs); i++ {
		switch rs[i] - rs[i-1] {
		case 1:
			up++
		case -1:
			down++
		}
	}
	return up >= len(rs)-3 || down >= len(rs)-3
}
