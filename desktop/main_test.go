package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/zalando/go-keyring"
)

func TestVersionAndCheck(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := run([]string{"--version"}, &out, &errOut); code != 0 || !strings.HasPrefix(out.String(), "taiwa-desktop 0.") {
		t.Fatalf("--version: %d %q %q", code, out.String(), errOut.String())
	}
	// No keychain: the check says so (the app then keeps nothing on disk).
	keyring.MockInitWithError(keyring.ErrUnsupportedPlatform)
	out.Reset()
	if code := run([]string{"--check"}, &out, &errOut); code != 0 || !strings.Contains(out.String(), "keychain: unavailable") {
		t.Fatalf("--check without a keychain: %q", out.String())
	}
	keyring.MockInit()
	out.Reset()
	if code := run([]string{"--check"}, &out, &errOut); code != 0 || !strings.Contains(out.String(), "keychain: ok") {
		t.Fatalf("--check with a keychain: %q", out.String())
	}
}
