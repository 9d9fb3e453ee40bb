package ui

import (
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/taiwa-chat/taiwa/pkg/protocol"
)

func TestMain(m *testing.M) {
	LoadTranslations()
	os.Exit(m.Run())
}

// usedKeys finds every T("key", "fallback") and ui.T(…) in the desktop
// app's sources.
func usedKeys(t *testing.T) map[string]string {
	t.Helper()
	keys := map[string]string{}
	fset := token.NewFileSet()
	err := filepath.WalkDir("../..", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return err
		}
		f, err := parser.ParseFile(fset, path, nil, 0)
		if err != nil {
			return err
		}
		ast.Inspect(f, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok || len(call.Args) < 2 {
				return true
			}
			switch fn := call.Fun.(type) {
			case *ast.Ident:
				if fn.Name != "T" {
					return true
				}
			case *ast.SelectorExpr:
				if fn.Sel.Name != "T" {
					return true
				}
			default:
				return true
			}
			k, ok1 := call.Args[0].(*ast.BasicLit)
			v, ok2 := call.Args[1].(*ast.BasicLit)
			if ok1 && ok2 && k.Kind == token.STRING && v.Kind == token.STRING {
				key, _ := strconv.Unquote(k.Value)
				val, _ := strconv.Unquote(v.Value)
				keys[key] = val
			}
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return keys
}

func translationFile(t *testing.T, lang string) map[string]any {
	t.Helper()
	raw, err := translations.ReadFile("translation/" + lang + ".json")
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// dynamicKeys are built at run time from the protocol's values: every
// value the server can send has its words.
func dynamicKeys() []string {
	var keys []string
	for _, a := range []protocol.AuditAction{protocol.AuditOrgCreated, protocol.AuditAccountCreated, protocol.AuditAccountDeleted,
		protocol.AuditClientUpdated, protocol.AuditPasswordReset, protocol.AuditPasswordChanged, protocol.AuditTOTPChanged,
		protocol.AuditForcedLogout, protocol.AuditSettingsChanged, protocol.AuditSupervisorView, protocol.AuditPoolPreview, protocol.AuditRiskRaised} {
		keys = append(keys, "audit."+string(a))
	}
	// Every setting, by its JSON name: the audit log names changed ones.
	st := reflect.TypeOf(protocol.Settings{})
	for i := 0; i < st.NumField(); i++ {
		name, _, _ := strings.Cut(st.Field(i).Tag.Get("json"), ",")
		keys = append(keys, "audit.detail."+name)
	}
	for _, d := range []string{"nickname", "note", "access_until", "on", "off", "reset"} {
		keys = append(keys, "audit.detail."+d)
	}
	for _, r := range []string{"logout", "forced", "deleted", "expired", "password_reset", "password_changed", "idle", "revoked"} {
		keys = append(keys, "devices.reason."+r)
	}
	for _, r := range []string{"admin", "counselor", "client", "system", "operator"} {
		keys = append(keys, "role."+r)
	}
	for k := range knownFallbacks {
		keys = append(keys, k)
	}
	return keys
}

// Every text a person sees is in Japanese and English, and English reads
// as the code's fallback says.
func TestEveryStringIsTranslated(t *testing.T) {
	ja, en := translationFile(t, "ja"), translationFile(t, "en")
	used := usedKeys(t)
	if len(used) < 200 {
		t.Fatalf("found only %d keys: the scan is broken", len(used))
	}
	for k, fallback := range used {
		if _, ok := ja[k]; !ok {
			t.Errorf("no Japanese for %q (%q)", k, fallback)
		}
		if got, ok := en[k]; !ok || got != fallback {
			t.Errorf("English for %q is %q, the code says %q", k, got, fallback)
		}
	}
	for _, k := range dynamicKeys() {
		if _, ok := ja[k]; !ok {
			t.Errorf("no Japanese for %q", k)
		}
		if _, ok := en[k]; !ok {
			t.Errorf("no English for %q", k)
		}
	}
	// Fyne's own dialogs and menus (Yes/No, Cancel, the file dialog).
	for _, k := range []string{"Yes", "No", "Cancel", "OK", "Save", "Open", "Error", "Copy", "Paste", "Cut", "Select all", "Undo", "Redo", "Quit", "Enter filename", "New Folder"} {
		if _, ok := ja[k]; !ok {
			t.Errorf("no Japanese for Fyne's %q", k)
		}
	}
}
