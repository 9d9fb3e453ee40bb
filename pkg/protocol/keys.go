package protocol

import (
	"encoding/json"
	"reflect"
	"strings"
	"sync"
)

// CheckKeys refuses what encoding/json would quietly accept in a body or
// frame decoded into v: a key in another case than its field's
// ("NICKNAME" for "nickname") and a key given twice (the last one would
// win). Unknown keys are refused by the decoder itself
// (DisallowUnknownFields).
//
// It runs after data has decoded into v, on every frame the server
// reads, so it walks the bytes itself rather than json.Decoder's tokens,
// which allocated for every key and value. Data that is not valid JSON
// is the decoder's to report: the walk stops there and returns nil.
func CheckKeys(data []byte, v any) error {
	w := keyWalker{data: data}
	return w.value(reflect.TypeOf(v), 0)
}

// maxKeyDepth bounds the walk's recursion; encoding/json refuses deeper
// nesting (10,000) before CheckKeys runs.
const maxKeyDepth = 10000

type keyWalker struct {
	data []byte
	i    int
}

func (w *keyWalker) skipSpace() {
	for w.i < len(w.data) {
		switch w.data[w.i] {
		case ' ', '\t', '\r', '\n':
			w.i++
		default:
			return
		}
	}
}

// value walks one JSON value whose Go type is t (nil: not known).
func (w *keyWalker) value(t reflect.Type, depth int) error {
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	w.skipSpace()
	if w.i >= len(w.data) || depth > maxKeyDepth {
		return nil
	}
	switch w.data[w.i] {
	case '{':
		return w.object(t, depth)
	case '[':
		var elem reflect.Type
		if t != nil && (t.Kind() == reflect.Slice || t.Kind() == reflect.Array) {
			elem = t.Elem()
		}
		w.i++
		for {
			w.skipSpace()
			if w.i >= len(w.data) {
				return nil
			}
			switch w.data[w.i] {
			case ']':
				w.i++
				return nil
			case ',':
				w.i++
				continue
			}
			start := w.i
			if err := w.value(elem, depth+1); err != nil {
				return err
			}
			if w.i == start {
				return nil // not JSON
			}
		}
	case '"':
		w.skipString()
	default: // a number, true, false or null
		for w.i < len(w.data) {
			switch w.data[w.i] {
			case ',', '}', ']', ' ', '\t', '\r', '\n':
				return nil
			}
			w.i++
		}
	}
	return nil
}

// skipString moves past the string that starts at w.i and reports
// whether it held an escape.
func (w *keyWalker) skipString() (escaped bool) {
	w.i++ // the opening quote
	for w.i < len(w.data) {
		switch w.data[w.i] {
		case '\\':
			escaped = true
			w.i += 2
			continue
		case '"':
			w.i++
			return escaped
		}
		w.i++
	}
	return escaped
}

func (w *keyWalker) object(t reflect.Type, depth int) error {
	var (
		fields  *structKeys
		mapElem reflect.Type
	)
	if t != nil && t.Kind() == reflect.Struct {
		fields = keysOf(t)
	} else if t != nil && t.Kind() == reflect.Map {
		mapElem = t.Elem()
	}
	// Most objects have a handful of keys, compared in a slice; a large
	// one (a map in a request) gets a set.
	var (
		few  []string
		many map[string]bool
	)
	w.i++ // {
	for {
		w.skipSpace()
		if w.i >= len(w.data) {
			return nil
		}
		switch w.data[w.i] {
		case '}':
			w.i++
			return nil
		case ',':
			w.i++
			continue
		case '"':
		default:
			return nil // not JSON
		}
		start := w.i
		escaped := w.skipString()
		raw := w.data[start:min(w.i, len(w.data))]
		var key string
		if escaped {
			// The decoder matched the key unescaped ("\u0062ody" is
			// "body"), so compare it so too.
			if err := json.Unmarshal(raw, &key); err != nil {
				return nil
			}
		} else if len(raw) >= 2 {
			key = string(raw[1 : len(raw)-1])
		}
		if many != nil {
			if many[key] {
				return keyTwice(key)
			}
			many[key] = true
		} else {
			for _, k := range few {
				if k == key {
					return keyTwice(key)
				}
			}
			few = append(few, key)
			if len(few) > 16 {
				many = make(map[string]bool, 2*len(few))
				for _, k := range few {
					many[k] = true
				}
			}
		}
		next := mapElem
		if fields != nil {
			ft, exact := fields.types[key]
			if !exact {
				for _, name := range fields.names {
					if strings.EqualFold(name, key) {
						return Errorf(CodeBadRequest, "key %q must be written %q", truncate(key, 32), name)
					}
				}
			}
			next = ft
		}
		w.skipSpace()
		if w.i >= len(w.data) || w.data[w.i] != ':' {
			return nil
		}
		w.i++
		start = w.i
		if err := w.value(next, depth+1); err != nil {
			return err
		}
		if w.skipSpace(); w.i == start {
			return nil // no value: not JSON
		}
	}
}

func keyTwice(key string) error {
	return Errorf(CodeBadRequest, "key %q is given twice", truncate(key, 32))
}

// structKeys are a struct type's JSON keys (its embedded structs' too),
// each with its field's type.
type structKeys struct {
	types map[string]reflect.Type
	names []string // in field order, for the case-insensitive search
}

// structKeysCache holds each struct type's keys once: reflecting over
// the fields again for every frame was a tenth of a frame's decoding.
var structKeysCache sync.Map // reflect.Type → *structKeys

func keysOf(t reflect.Type) *structKeys {
	if k, ok := structKeysCache.Load(t); ok {
		return k.(*structKeys)
	}
	k := &structKeys{types: map[string]reflect.Type{}}
	collectFields(t, k)
	stored, _ := structKeysCache.LoadOrStore(t, k)
	return stored.(*structKeys)
}

// collectFields adds each JSON key of struct t (embedded structs' too)
// with its field's type.
func collectFields(t reflect.Type, out *structKeys) {
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		name, _, _ := strings.Cut(tag, ",")
		if name == "-" {
			continue
		}
		if f.Anonymous && name == "" {
			ft := f.Type
			for ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct {
				collectFields(ft, out)
				continue
			}
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		if _, dup := out.types[name]; !dup {
			out.names = append(out.names, name)
		}
		out.types[name] = f.Type
	}
}
