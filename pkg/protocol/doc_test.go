package protocol

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// docPath is the protocol's document, which an app written from it alone
// must be able to rely on.
const docPath = "../../docs/protocol.md"

// TestEverythingOnTheWireIsDocumented fails when a frame type, error code,
// close code or JSON field exists in this package (or pkg/hours) but not
// in docs/protocol.md. (Routes are checked by the server's own test.)
func TestEverythingOnTheWireIsDocumented(t *testing.T) {
	doc, err := os.ReadFile(docPath)
	if err != nil {
		t.Fatal(err)
	}
	text := string(doc)
	fset := token.NewFileSet()
	pkgs := map[string]*ast.Package{}
	// pkg/hours defines the schedule and availability carried in settings.
	for _, dir := range []string{".", "../hours"} {
		ps, err := parser.ParseDir(fset, dir, func(fi os.FileInfo) bool { return !strings.HasSuffix(fi.Name(), "_test.go") }, 0)
		if err != nil {
			t.Fatal(err)
		}
		for name, p := range ps {
			pkgs[dir+"/"+name] = p
		}
	}
	var missing []string
	quoted := func(s string) bool {
		return strings.Contains(text, "`"+s+"`") || strings.Contains(text, `"`+s+`"`)
	}
	for _, pkg := range pkgs {
		for _, f := range pkg.Files {
			ast.Inspect(f, func(n ast.Node) bool {
				switch n := n.(type) {
				case *ast.ValueSpec:
					for i, name := range n.Names {
						if i >= len(n.Values) {
							continue
						}
						lit, ok := n.Values[i].(*ast.BasicLit)
						if !ok {
							continue
						}
						switch {
						case strings.HasPrefix(name.Name, "Type") && lit.Kind == token.STRING,
							strings.HasPrefix(name.Name, "Code") && lit.Kind == token.STRING:
							v, _ := strconv.Unquote(lit.Value)
							if !quoted(v) {
								missing = append(missing, name.Name+" "+v)
							}
						case strings.HasPrefix(name.Name, "Close") && lit.Kind == token.INT:
							if !regexp.MustCompile(`\b` + lit.Value + `\b`).MatchString(text) {
								missing = append(missing, name.Name+" "+lit.Value)
							}
						}
					}
				case *ast.StructType:
					for _, field := range n.Fields.List {
						if field.Tag == nil {
							continue
						}
						tag, _ := strconv.Unquote(field.Tag.Value)
						name, _, _ := strings.Cut(reflect.StructTag(tag).Get("json"), ",")
						if name != "" && name != "-" && !quoted(name) {
							missing = append(missing, "field "+name)
						}
					}
				}
				return true
			})
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Fatalf("in pkg/protocol but not in docs/protocol.md:\n  %s", strings.Join(missing, "\n  "))
	}
}
