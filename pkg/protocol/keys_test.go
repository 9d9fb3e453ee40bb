package protocol

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

// keyProbe has what request bodies hold: nested structs, maps, slices of
// structs, an embedded struct and pointers.
type keyProbe struct {
	keyProbeEmbedded
	Name   string                   `json:"name"`
	Inner  *keyProbeInner           `json:"inner,omitempty"`
	List   []keyProbeInner          `json:"list,omitempty"`
	ByName map[string]keyProbeInner `json:"by_name,omitempty"`
	Any    any                      `json:"any,omitempty"`
	Plain  int                      // no tag: the key is "Plain"
	Hidden int                      `json:"-"`
}

type keyProbeEmbedded struct {
	Shared string `json:"shared"`
}

type keyProbeInner struct {
	Value int    `json:"value"`
	Label string `json:"label,omitempty"`
}

func TestCheckKeys(t *testing.T) {
	tests := []struct {
		name, in string
		ok       bool
	}{
		{"flat", `{"name":"a","shared":"b","Plain":1}`, true},
		{"spaces everywhere", " { \"name\" : \"a\" ,\n\t\"inner\" : { \"value\" : 1 } } ", true},
		{"nested as written", `{"inner":{"value":1,"label":"x"},"list":[{"value":1},{"value":2}]}`, true},
		{"nested in another case", `{"inner":{"VALUE":1}}`, false},
		{"in a slice, another case", `{"list":[{"value":1},{"Value":2}]}`, false},
		{"in a map's value, another case", `{"by_name":{"a":{"Label":"x"}}}`, false},
		{"map keys are free", `{"by_name":{"A":{"value":1},"a":{"value":2}}}`, true},
		{"map key twice", `{"by_name":{"a":{"value":1},"a":{"value":2}}}`, false},
		{"embedded field in another case", `{"SHARED":"x"}`, false},
		{"untagged field in another case", `{"plain":1}`, false},
		{"key twice", `{"name":"a","name":"b"}`, false},
		{"key twice, once escaped", `{"name":"a","\u006eame":"b"}`, false},
		{"escaped key as written", `{"\u006eame":"a"}`, true},
		{"nested key twice", `{"inner":{"value":1,"value":2}}`, false},
		{"any object with a key twice", `{"any":{"x":1,"x":2}}`, false},
		{"any: keys in any case", `{"any":{"X":1,"x":2}}`, true},
		{"strings with braces and quotes", `{"name":"{\"name\":1,\"name\":2}","shared":"]}"}`, true},
		{"literals", `{"any":[true,false,null,-1.5e3,"x",{}],"Plain":0}`, true},
		{"many map keys, one twice", `{"by_name":{` + manyKeys(40) + `,"k7":{}}}`, false},
		{"many map keys", `{"by_name":{` + manyKeys(40) + `}}`, true},
		{"not an object", `[1,2]`, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var v keyProbe
			err := CheckKeys([]byte(tt.in), &v)
			if (err == nil) != tt.ok {
				t.Fatalf("CheckKeys(%s) = %v, want ok=%v", tt.in, err, tt.ok)
			}
			if ref := checkKeysByTokens([]byte(tt.in), &v); (ref == nil) != (err == nil) {
				t.Fatalf("walk says %v, tokens say %v", err, ref)
			}
		})
	}
}

func manyKeys(n int) string {
	var b strings.Builder
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(`"k` + strconv.Itoa(i) + `":{}`)
	}
	return b.String()
}

// FuzzCheckKeys holds the byte walk to what the token walk it replaced
// decided, on anything that decodes into a frame or a probe.
func FuzzCheckKeys(f *testing.F) {
	for _, s := range []string{
		`{"type":"send","ref":"r","body":"x"}`,
		`{"type":"send","ref":"r","BODY":"x"}`,
		`{"type":"send","ref":"r","body":"x","body":"y"}`,
		`{"type":"hello","v":2,"cursor":5}`,
		`{"inner":{"value":1,"value":2}}`,
		`{"by_name":{"a":{"Label":"x"}},"list":[{"value":1}]}`,
		`{"any":{"x":[{"y":1,"y":2}]}}`,
		`{"\u006eame":"a","name":"b"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, v := range []any{new(Send), new(Hello), new(keyProbe)} {
			dec := json.NewDecoder(bytes.NewReader(data))
			dec.DisallowUnknownFields()
			if dec.Decode(v) != nil || dec.More() {
				continue
			}
			got, want := CheckKeys(data, v), checkKeysByTokens(data, v)
			if (got == nil) != (want == nil) {
				t.Fatalf("%T %q: walk says %v, tokens say %v", v, data, got, want)
			}
		}
	})
}

// checkKeysByTokens is the token walk CheckKeys replaced, kept as the
// fuzz test's reference.
func checkKeysByTokens(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	return checkValueByTokens(dec, reflect.TypeOf(v))
}

func checkValueByTokens(dec *json.Decoder, t reflect.Type) error {
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	tok, err := dec.Token()
	if err != nil {
		return nil // malformed: the decoder reports it
	}
	d, ok := tok.(json.Delim)
	if !ok {
		return nil
	}
	switch d {
	case '[':
		var elem reflect.Type
		if t != nil && (t.Kind() == reflect.Slice || t.Kind() == reflect.Array) {
			elem = t.Elem()
		}
		for dec.More() {
			if err := checkValueByTokens(dec, elem); err != nil {
				return err
			}
		}
		_, _ = dec.Token() // the closing ]; a malformed end is the decoder's to report
		return nil
	case '{':
		var fields map[string]reflect.Type // exact key → field type (structs only)
		var mapElem reflect.Type
		if t != nil && t.Kind() == reflect.Struct {
			// The fields as CheckKeys reflects them: what is compared is
			// the walk over the data.
			fields = keysOf(t).types
		} else if t != nil && t.Kind() == reflect.Map {
			mapElem = t.Elem()
		}
		seen := map[string]bool{}
		for dec.More() {
			tok, err := dec.Token()
			if err != nil {
				return nil
			}
			key, _ := tok.(string)
			if seen[key] {
				return Errorf(CodeBadRequest, "key %q is given twice", truncate(key, 32))
			}
			seen[key] = true
			next := mapElem
			if len(fields) > 0 {
				ft, exact := fields[key]
				if !exact {
					for name := range fields {
						if strings.EqualFold(name, key) {
							return Errorf(CodeBadRequest, "key %q must be written %q", truncate(key, 32), name)
						}
					}
				}
				next = ft
			}
			if err := checkValueByTokens(dec, next); err != nil {
				return err
			}
		}
		_, _ = dec.Token() // the closing }
		return nil
	}
	return nil
}
