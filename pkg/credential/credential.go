// Package credential makes and checks the secrets people sign in with:
// generated login IDs and passwords, argon2id password hashes, and session
// tokens (of which only a hash is stored).
package credential

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/crypto/argon2"
)

// Alphabet for generated IDs and passwords: lower-case letters and digits
// without look-alikes (0/o, 1/l/i), so a slip of paper read aloud or typed
// on a phone keyboard is hard to get wrong.
const Alphabet = "abcdefghjkmnpqrstuvwxyz23456789"

// Lengths of generated secrets. 12 characters from 31 give about 59 bits:
// enough against online guessing behind rate limits and lockout, short
// enough to type on a phone.
const (
	LoginIDLength  = 8
	PasswordLength = 12
)

// Random returns n characters drawn uniformly from Alphabet.
func Random(n int) string {
	// rand.Text's alphabet is fixed; ours avoids look-alikes, so draw bytes
	// and reject the ones that would bias the choice.
	const limit = 256 - 256%len(Alphabet)
	out := make([]byte, 0, n)
	buf := make([]byte, n*2)
	for len(out) < n {
		if _, err := rand.Read(buf); err != nil {
			panic(fmt.Sprintf("credential: crypto/rand failed: %v", err)) // never returns an error since Go 1.24
		}
		for _, b := range buf {
			if int(b) < limit && len(out) < n {
				out = append(out, Alphabet[int(b)%len(Alphabet)])
			}
		}
	}
	return string(out)
}

// NewLoginID returns a fresh login ID, grouped for reading: "abcd-efgh".
func NewLoginID() string {
	s := Random(LoginIDLength)
	return s[:4] + "-" + s[4:]
}

// NewPassword returns a fresh one-time password, grouped: "abcd-efgh-jkmn".
func NewPassword() string {
	s := Random(PasswordLength)
	return s[:4] + "-" + s[4:8] + "-" + s[8:]
}

// NormalizeLoginID folds what a person may type (capitals, spaces, missing
// dashes) to the stored form of a generated ID. Staff IDs chosen by an
// operator are lower-cased and trimmed.
func NormalizeLoginID(s string) string {
	s = strings.ToLower(strings.TrimSpace(s))
	compact := strings.NewReplacer("-", "", " ", "").Replace(strings.ToLower(foldTyped(s)))
	if len(compact) == LoginIDLength && strings.Trim(compact, Alphabet) == "" {
		return compact[:4] + "-" + compact[4:]
	}
	return s
}

// foldTyped undoes what a Japanese keyboard makes of a slip's characters:
// full-width letters, digits and spaces become ASCII, and the long vowel
// mark 「ー」 and the other dashes become "-".
func foldTyped(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 0xFF01 && r <= 0xFF5E: // full-width ASCII
			return r - 0xFEE0
		case r == 0x3000: // ideographic space
			return ' '
		case strings.ContainsRune("ーｰ‐‑‒–—―−", r):
			return '-'
		}
		return r
	}, s)
}

// NormalizePassword does the same for generated passwords, so that
// "ABCD EFGH JKMN" and "abcd-efgh-jkmn" both work. Other passwords are
// used exactly as typed.
func NormalizePassword(s string) string {
	compact := strings.ToLower(strings.NewReplacer("-", "", " ", "").Replace(strings.TrimSpace(foldTyped(s))))
	if len(compact) == PasswordLength && strings.Trim(compact, Alphabet) == "" {
		return compact[:4] + "-" + compact[4:8] + "-" + compact[8:]
	}
	return s
}

// Params are argon2id's cost settings, stored with each hash so they can be
// raised later without invalidating old hashes.
type Params struct {
	Time    uint32
	Memory  uint32 // KiB
	Threads uint8
}

// DefaultParams follow RFC 9106's second recommended option, scaled to a
// 2-core server: 64 MiB, 2 passes. They protect passwords people choose
// (staff), which may be weak.
var DefaultParams = Params{Time: 2, Memory: 64 * 1024, Threads: 2}

// GeneratedParams are for generated one-time passwords (every client's,
// and staff's until they choose one): 12 characters from a 31-letter
// alphabet are 59 random bits, so the hash need not make up for a weak
// secret; 16 MiB and one pass (about 13 ms here, 13x less than
// DefaultParams) still make each offline guess cost memory and time,
// and let a seminar of 1,000 be registered, and sign in, in seconds.
var GeneratedParams = Params{Time: 1, Memory: 16 * 1024, Threads: 1}

// Hash returns an encoded argon2id hash of password in the PHC string
// format: $argon2id$v=19$m=65536,t=2,p=2$salt$hash.
func Hash(password string, p Params) string {
	salt := make([]byte, 16)
	_, _ = rand.Read(salt)
	key := argon2.IDKey([]byte(password), salt, p.Time, p.Memory, p.Threads, 32)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, p.Memory, p.Time, p.Threads, b64.EncodeToString(salt), b64.EncodeToString(key))
}

// ErrMalformedHash means a stored hash could not be parsed.
var ErrMalformedHash = errors.New("malformed password hash")

// Verify reports whether password matches encoded, in constant time.
func Verify(password, encoded string) (bool, error) {
	parts := strings.Split(encoded, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return false, ErrMalformedHash
	}
	var version int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &version); err != nil || version != argon2.Version {
		return false, ErrMalformedHash
	}
	var p Params
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &p.Memory, &p.Time, &p.Threads); err != nil {
		return false, ErrMalformedHash
	}
	b64 := base64.RawStdEncoding
	salt, err1 := b64.DecodeString(parts[4])
	want, err2 := b64.DecodeString(parts[5])
	if err1 != nil || err2 != nil || len(want) == 0 {
		return false, ErrMalformedHash
	}
	got := argon2.IDKey([]byte(password), salt, p.Time, p.Memory, p.Threads, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1, nil
}

// NewToken returns a 256-bit random session token, URL-safe.
func NewToken() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// TokenHash is what the server stores for a token: a leaked database does
// not hand out live sessions. SHA-256 suffices because the token is random.
func TokenHash(token string) []byte {
	h := sha256.Sum256([]byte(token))
	return h[:]
}
