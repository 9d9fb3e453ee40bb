package protocol

import (
	"reflect"
	"testing"
	"time"
)

// TestSettingsCloneSharesNothing fills every field of Settings, clones
// it, and checks that no slice, map or pointer of the clone points where
// the original's does: a field added later without a copy in Clone fails
// here (the store hands cached settings out as clones, and a caller that
// appends to one must not change the others).
func TestSettingsCloneSharesNothing(t *testing.T) {
	var s Settings
	fill(t, reflect.ValueOf(&s).Elem())
	if s.Pause.Until == nil || len(s.Hours.Spans) == 0 || len(s.CrisisPhrases) == 0 {
		t.Fatal("fill left a reference field empty")
	}
	c := s.Clone()
	if !reflect.DeepEqual(s, c) {
		t.Fatalf("clone differs:\n%+v\n%+v", s, c)
	}
	shared(t, "Settings", reflect.ValueOf(s), reflect.ValueOf(c))
}

// fill sets every exported field of v to something not zero.
func fill(t *testing.T, v reflect.Value) {
	t.Helper()
	if v.Type() == reflect.TypeFor[time.Time]() {
		v.Set(reflect.ValueOf(time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)))
		return
	}
	switch v.Kind() {
	case reflect.Struct:
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				fill(t, v.Field(i))
			}
		}
	case reflect.Pointer:
		v.Set(reflect.New(v.Type().Elem()))
		fill(t, v.Elem())
	case reflect.Slice:
		v.Set(reflect.MakeSlice(v.Type(), 2, 2))
		for i := range v.Len() {
			fill(t, v.Index(i))
		}
	case reflect.Map:
		m := reflect.MakeMap(v.Type())
		k, e := reflect.New(v.Type().Key()).Elem(), reflect.New(v.Type().Elem()).Elem()
		fill(t, k)
		fill(t, e)
		m.SetMapIndex(k, e)
		v.Set(m)
	case reflect.String:
		v.SetString("x")
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		v.SetInt(1)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		v.SetUint(1)
	case reflect.Float32, reflect.Float64:
		v.SetFloat(1)
	default:
		t.Fatalf("fill: %s is a %s: teach the test to fill it", v.Type(), v.Kind())
	}
}

// shared fails for any slice, map or pointer that a and b both point to.
func shared(t *testing.T, path string, a, b reflect.Value) {
	t.Helper()
	switch a.Kind() {
	case reflect.Struct:
		if a.Type() == reflect.TypeFor[time.Time]() {
			return // a value; its location is shared by design
		}
		for i := range a.NumField() {
			if a.Type().Field(i).IsExported() {
				shared(t, path+"."+a.Type().Field(i).Name, a.Field(i), b.Field(i))
			}
		}
	case reflect.Pointer, reflect.Map:
		if !a.IsNil() && a.Pointer() == b.Pointer() {
			t.Errorf("%s is shared by the clone", path)
		}
		if a.Kind() == reflect.Pointer && !a.IsNil() && !b.IsNil() {
			shared(t, path, a.Elem(), b.Elem())
		}
	case reflect.Slice:
		if a.Len() > 0 && a.Pointer() == b.Pointer() {
			t.Errorf("%s is shared by the clone", path)
		}
		for i := range min(a.Len(), b.Len()) {
			shared(t, path+"[]", a.Index(i), b.Index(i))
		}
	}
}
