package main

import (
	"os"
	"testing"
)

// The project keeps its app metadata at the top level; the fyne tool and
// --version read the copy beside this package. They must not drift.
func TestFyneAppTomlInStep(t *testing.T) {
	top, err := os.ReadFile("../FyneApp.toml")
	if err != nil {
		t.Fatal(err)
	}
	if string(top) != metadata {
		t.Fatal("desktop/FyneApp.toml differs from the top-level FyneApp.toml: edit the top-level one and copy it here")
	}
	if tomlValue("Version") == "?" || tomlValue("Build") == "?" {
		t.Fatalf("version %q build %q", tomlValue("Version"), tomlValue("Build"))
	}
}
