package protocol

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
)

// CheckKeys refuses what encoding/json would quietly accept in a body or
// frame decoded into v: a key in another case than its field's
// ("NICKNAME" for "nickname") and a key given twice (the last one would
// win). Unknown keys are refused by the decoder itself
// (DisallowUnknownFields); data must be valid JSON.
func CheckKeys(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	return checkValue(dec, reflect.TypeOf(v))
}

func checkValue(dec *json.Decoder, t reflect.Type) error {
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
			if err := checkValue(dec, elem); err != nil {
				return err
			}
		}
		_, _ = dec.Token() // the closing ]; a malformed end is the decoder's to report
		return nil
	case '{':
		fields := map[string]reflect.Type{} // exact key → field type (structs only)
		var mapElem reflect.Type
		if t != nil && t.Kind() == reflect.Struct {
			collectFields(t, fields)
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
			if err := checkValue(dec, next); err != nil {
				return err
			}
		}
		_, _ = dec.Token() // the closing }
		return nil
	}
	return nil
}

// collectFields maps each JSON key of struct t (embedded structs' too) to
// its field's type.
func collectFields(t reflect.Type, out map[string]reflect.Type) {
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
		out[name] = f.Type
	}
}
