package server

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/taiwa-chat/taiwa/pkg/protocol"
)

// openAPI is the part of docs/provisioning.openapi.json the test reads.
type openAPI struct {
	OpenAPI    string                                `json:"openapi"`
	Paths      map[string]map[string]json.RawMessage `json:"paths"`
	Components struct {
		Schemas map[string]struct {
			Required   []string                   `json:"required"`
			Properties map[string]json.RawMessage `json:"properties"`
		} `json:"schemas"`
	} `json:"components"`
}

func readOpenAPI(t *testing.T) (openAPI, []byte) {
	t.Helper()
	raw, err := os.ReadFile("../../../docs/provisioning.openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	var doc openAPI
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatalf("docs/provisioning.openapi.json: %v", err)
	}
	return doc, raw
}

// jsonFields lists the JSON names of a struct's fields.
func jsonFields(v any) []string {
	var out []string
	rt := reflect.TypeOf(v)
	for i := range rt.NumField() {
		name, _, _ := strings.Cut(rt.Field(i).Tag.Get("json"), ",")
		if name != "" && name != "-" {
			out = append(out, name)
		}
	}
	slices.Sort(out)
	return out
}

// TestOpenAPIMatchesRoutes holds docs/provisioning.openapi.json to the
// server: OpenAPI 3.1, exactly the provisioning routes the server has,
// every $ref resolving, and each schema's properties the wire type's
// fields.
func TestOpenAPIMatchesRoutes(t *testing.T) {
	doc, raw := readOpenAPI(t)
	if doc.OpenAPI != "3.1.0" {
		t.Errorf("openapi %q, want 3.1.0", doc.OpenAPI)
	}
	var documented []string
	for path, ops := range doc.Paths {
		for method := range ops {
			if method == "parameters" {
				continue
			}
			documented = append(documented, strings.ToUpper(method)+" /api/v1"+path)
		}
	}
	ts := newTestServer(t, nil)
	var served []string
	for _, rt := range ts.apiRoutes() {
		if strings.Contains(rt.pattern, " /api/v1/provision/") {
			served = append(served, rt.pattern)
		}
	}
	slices.Sort(documented)
	slices.Sort(served)
	if len(served) == 0 || !slices.Equal(documented, served) {
		t.Errorf("the file documents %v, the server serves %v", documented, served)
	}
	var tree any
	if err := json.Unmarshal(raw, &tree); err != nil {
		t.Fatal(err)
	}
	for _, ref := range strings.Split(string(raw), `"$ref": "`)[1:] {
		target, _, _ := strings.Cut(ref, `"`)
		node := tree
		for _, p := range strings.Split(strings.TrimPrefix(target, "#/"), "/") {
			m, ok := node.(map[string]any)
			if !ok || m[p] == nil {
				t.Errorf("$ref %s does not resolve", target)
				break
			}
			node = m[p]
		}
	}
	for name, typ := range map[string]any{
		"ProvisionClientRequest": protocol.ProvisionClientRequest{},
		"ProvisionedClient":      protocol.ProvisionedClient{},
		"ProvisionUpdateRequest": protocol.ProvisionUpdateRequest{},
		"ProvisionedAccess":      protocol.ProvisionedAccess{},
		"Error":                  protocol.ErrorResponse{},
	} {
		sc, ok := doc.Components.Schemas[name]
		if !ok {
			t.Errorf("no schema %s", name)
			continue
		}
		var props []string
		for p := range sc.Properties {
			props = append(props, p)
		}
		slices.Sort(props)
		if want := jsonFields(typ); !slices.Equal(props, want) {
			t.Errorf("schema %s has %v, the wire type %v", name, props, want)
		}
		for _, r := range sc.Required {
			if !slices.Contains(props, r) {
				t.Errorf("schema %s requires %q, which it does not have", name, r)
			}
		}
	}
}

// TestOpenAPIAnswersConform calls the real server as the file says and
// checks each answer has the documented status and the schema's fields.
func TestOpenAPIAnswersConform(t *testing.T) {
	doc, _ := readOpenAPI(t)
	ts := newTestServer(t, nil)
	o := ts.org(t, "provider")
	name := "A社"
	g, err := o.admin.CreateGroup(t.Context(), protocol.GroupRequest{Name: &name})
	if err != nil {
		t.Fatal(err)
	}
	k, err := o.admin.CreateAPIKey(t.Context(), protocol.APIKeyRequest{Name: "予約", GroupIDs: []int64{g.ID}})
	if err != nil {
		t.Fatal(err)
	}
	conforms := func(schema, body string) {
		t.Helper()
		var got map[string]any
		if err := json.Unmarshal([]byte(body), &got); err != nil {
			t.Fatalf("%s: %v in %s", schema, err, body)
		}
		sc := doc.Components.Schemas[schema]
		for f := range got {
			if _, ok := sc.Properties[f]; !ok {
				t.Errorf("%s answer has %q, not in the schema", schema, f)
			}
		}
		for _, r := range sc.Required {
			if _, ok := got[r]; !ok {
				t.Errorf("%s answer lacks required %q: %s", schema, r, body)
			}
		}
	}
	url := ts.URL + "/api/v1/provision/clients"
	code, body, _ := provisionDo(t, "POST", url, k.Key, "order-1", fmt.Sprintf(`{"nickname":"予約客","group_id":%d,"access_until":"2099-01-01T00:00:00Z"}`, g.ID))
	if code != http.StatusCreated {
		t.Fatalf("create: %d %s", code, body)
	}
	conforms("ProvisionedClient", body)
	var pc protocol.ProvisionedClient
	if err := json.Unmarshal([]byte(body), &pc); err != nil {
		t.Fatal(err)
	}
	code, body, _ = provisionDo(t, "PATCH", fmt.Sprintf("%s/%d", url, pc.ID), k.Key, "", `{"clear_access_until":true}`)
	if code != http.StatusOK {
		t.Fatalf("patch: %d %s", code, body)
	}
	conforms("ProvisionedAccess", body)
	code, body, _ = provisionDo(t, "POST", url, "", "order-2", `{}`)
	if code != http.StatusUnauthorized {
		t.Fatalf("no key: %d %s", code, body)
	}
	conforms("Error", body)
	if code, _, _ := provisionDo(t, "DELETE", fmt.Sprintf("%s/%d", url, pc.ID), k.Key, "", ""); code != http.StatusNoContent {
		t.Fatalf("delete: %d", code)
	}
}
