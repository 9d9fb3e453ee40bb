package pii

import (
	"encoding/json"
	"strings"
)

// ClientTablePath is where the client app's copy of the table lives,
// from the module's root; TestClientTable keeps it equal to JS().
const ClientTablePath = "mobileweb/static/pii.js"

// JS is the table as the client app's module: generated from Patterns,
// never edited by hand (go test ./pkg/pii -run TestClientTable -update).
func JS() string {
	b, err := json.Marshal(Patterns)
	if err != nil {
		panic(err) // a slice of strings always marshals
	}
	var s strings.Builder
	s.WriteString("// Generated from pkg/pii (go test ./pkg/pii -run TestClientTable -update): edit the Go table, not this file.\n")
	s.WriteString("// Text that looks like personal data; the app asks before sending it.\n")
	s.WriteString("export const PATTERNS = " + string(b) + ";\n\n")
	s.WriteString(`const compiled = PATTERNS.map((p) => ({ kind: p.kind, re: new RegExp(p.re, "u") }));

// findPII returns the kinds of personal data text seems to hold, each
// once, in the table's order, as the server's Go code does.
export function findPII(text) {
  const out = [];
  for (const p of compiled) {
    if (out[out.length - 1] === p.kind) continue;
    if (p.re.test(text)) out.push(p.kind);
  }
  return out;
}
`)
	return s.String()
}
