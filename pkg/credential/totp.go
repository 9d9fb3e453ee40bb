package credential

import (
	"bytes"
	"fmt"
	"image/png"
	"strings"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/hotp"
	"github.com/pquerna/otp/totp"
)

// TOTPEnrollment is a new second-factor secret for an authenticator app.
type TOTPEnrollment struct {
	Secret string // base32, for typing in by hand
	URL    string // otpauth:// for the QR code
	QRPNG  []byte // the QR code, 256×256
}

// NewTOTP makes a TOTP secret (RFC 6238: SHA-1, 6 digits, 30 s, what
// every authenticator app reads) labelled issuer:account.
func NewTOTP(issuer, account string) (TOTPEnrollment, error) {
	key, err := totp.Generate(totp.GenerateOpts{Issuer: issuer, AccountName: account})
	if err != nil {
		return TOTPEnrollment{}, fmt.Errorf("generate totp secret: %w", err)
	}
	img, err := key.Image(256, 256)
	if err != nil {
		return TOTPEnrollment{}, fmt.Errorf("totp qr code: %w", err)
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return TOTPEnrollment{}, fmt.Errorf("totp qr code: %w", err)
	}
	return TOTPEnrollment{Secret: key.Secret(), URL: key.URL(), QRPNG: buf.Bytes()}, nil
}

// TOTPStep checks a code against secret at now, allowing one step of
// clock drift either way, and returns the time step it matched: a caller
// refuses a step at or below the last one used (no replay).
func TOTPStep(code, secret string, now time.Time) (int64, bool) {
	code = strings.ReplaceAll(strings.TrimSpace(code), " ", "")
	if len(code) != 6 {
		return 0, false
	}
	step := now.Unix() / 30
	for _, s := range []int64{step, step - 1, step + 1} {
		ok, err := hotp.ValidateCustom(code, uint64(s), secret, hotp.ValidateOpts{Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
		if err == nil && ok {
			return s, true
		}
	}
	return 0, false
}

// TOTPCode is the code for secret at t (for tests and for showing a
// freshly enrolled device works).
func TOTPCode(secret string, t time.Time) (string, error) {
	return totp.GenerateCodeCustom(secret, t, totp.ValidateOpts{Period: 30, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
}
