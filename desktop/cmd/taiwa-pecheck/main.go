// Command taiwa-pecheck checks a Windows build of the app without running
// it (Wine cannot run Go ≥ 1.22 programs here): that it is a GUI program
// for amd64 with an icon, a manifest and the version from FyneApp.toml in
// its resources, and, with --signed, that it carries an Authenticode
// signature (osslsigncode verifies the signature itself).
//
//	taiwa-pecheck --version 0.1.0.1 --signed bin/windows/Taiwa.exe
package main

import (
	"debug/pe"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"os"
)

// Resource types (winuser.h).
const (
	rtIcon      = 3
	rtGroupIcon = 14
	rtVersion   = 16
	rtManifest  = 24
)

func main() {
	version := flag.String("version", "", "the file version expected, a.b.c.d")
	signed := flag.Bool("signed", false, "require an Authenticode signature")
	flag.Parse()
	if flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: taiwa-pecheck [--version a.b.c.d] [--signed] file.exe")
		os.Exit(2)
	}
	r, err := check(flag.Arg(0), *version, *signed)
	if err != nil {
		fmt.Fprintln(os.Stderr, "taiwa-pecheck:", err)
		os.Exit(1)
	}
	fmt.Println(r)
}

// report is what the check found.
type report struct {
	gui        bool
	types      map[uint32]int
	version    string
	signedSize uint32
}

func (r report) String() string {
	return fmt.Sprintf("GUI subsystem: %v; icons: %d (groups %d); manifest: %v; file version: %s; Authenticode signature: %d bytes",
		r.gui, r.types[rtIcon], r.types[rtGroupIcon], r.types[rtManifest] > 0, r.version, r.signedSize)
}

func check(path, wantVersion string, wantSigned bool) (report, error) {
	f, err := pe.Open(path)
	if err != nil {
		return report{}, fmt.Errorf("open %s: %w", path, err)
	}
	defer f.Close()
	oh, ok := f.OptionalHeader.(*pe.OptionalHeader64)
	if !ok || f.Machine != pe.IMAGE_FILE_MACHINE_AMD64 {
		return report{}, errors.New("not a 64-bit (amd64) program")
	}
	r := report{gui: oh.Subsystem == pe.IMAGE_SUBSYSTEM_WINDOWS_GUI, types: map[uint32]int{}}
	if len(oh.DataDirectory) > pe.IMAGE_DIRECTORY_ENTRY_SECURITY {
		r.signedSize = oh.DataDirectory[pe.IMAGE_DIRECTORY_ENTRY_SECURITY].Size
	}
	rsrc := f.Section(".rsrc")
	if rsrc == nil {
		return r, errors.New("no resources: no icon, manifest or version information")
	}
	data, err := rsrc.Data()
	if err != nil {
		return r, fmt.Errorf("read resources: %w", err)
	}
	res := resources{data: data, base: rsrc.VirtualAddress}
	var versionInfo []byte
	err = res.walk(0, 0, func(typ uint32, blob []byte) {
		r.types[typ]++
		if typ == rtVersion {
			versionInfo = blob
		}
	})
	if err != nil {
		return r, err
	}
	if versionInfo != nil {
		r.version, err = fixedFileVersion(versionInfo)
		if err != nil {
			return r, err
		}
	}
	var problems []error
	if !r.gui {
		problems = append(problems, errors.New("a console program: a release build runs without a console window"))
	}
	if r.types[rtIcon] == 0 || r.types[rtGroupIcon] == 0 {
		problems = append(problems, errors.New("no icon"))
	}
	if r.types[rtManifest] == 0 {
		problems = append(problems, errors.New("no manifest"))
	}
	if wantVersion != "" && r.version != wantVersion {
		problems = append(problems, fmt.Errorf("file version %q, want %q", r.version, wantVersion))
	}
	if wantSigned && r.signedSize == 0 {
		problems = append(problems, errors.New("not signed"))
	}
	return r, errors.Join(problems...)
}

// resources reads the .rsrc section's directory tree: type, then name,
// then language, then the data entry.
type resources struct {
	data []byte
	base uint32 // the section's virtual address: data entries hold RVAs
}

func (res resources) u32(off uint32) (uint32, error) {
	if int(off)+4 > len(res.data) {
		return 0, errors.New("resource directory runs past its section")
	}
	return binary.LittleEndian.Uint32(res.data[off:]), nil
}

func (res resources) walk(off uint32, depth int, found func(typ uint32, blob []byte)) error {
	return res.walkTyped(off, depth, 0, found)
}

func (res resources) walkTyped(off uint32, depth int, typ uint32, found func(uint32, []byte)) error {
	if depth > 3 || int(off)+16 > len(res.data) {
		return errors.New("malformed resource directory")
	}
	named := binary.LittleEndian.Uint16(res.data[off+12:])
	ids := binary.LittleEndian.Uint16(res.data[off+14:])
	for i := uint32(0); i < uint32(named)+uint32(ids); i++ {
		entry := off + 16 + i*8
		name, err := res.u32(entry)
		if err != nil {
			return err
		}
		target, err := res.u32(entry + 4)
		if err != nil {
			return err
		}
		t := typ
		if depth == 0 {
			t = name & 0x7fffffff
		}
		if target&0x80000000 != 0 { // another directory
			if err := res.walkTyped(target&0x7fffffff, depth+1, t, found); err != nil {
				return err
			}
			continue
		}
		rva, err := res.u32(target)
		if err != nil {
			return err
		}
		size, err := res.u32(target + 4)
		if err != nil {
			return err
		}
		start := rva - res.base
		if rva < res.base || int(start)+int(size) > len(res.data) {
			return errors.New("resource data outside its section")
		}
		found(t, res.data[start:start+size])
	}
	return nil
}

// fixedFileVersion reads VS_FIXEDFILEINFO's file version from a
// VS_VERSIONINFO resource.
func fixedFileVersion(b []byte) (string, error) {
	sig := []byte{0xbd, 0x04, 0xef, 0xfe}
	for i := 0; i+52 <= len(b); i += 4 {
		if b[i] == sig[0] && b[i+1] == sig[1] && b[i+2] == sig[2] && b[i+3] == sig[3] {
			ms := binary.LittleEndian.Uint32(b[i+8:])
			ls := binary.LittleEndian.Uint32(b[i+12:])
			return fmt.Sprintf("%d.%d.%d.%d", ms>>16, ms&0xffff, ls>>16, ls&0xffff), nil
		}
	}
	return "", errors.New("version information without VS_FIXEDFILEINFO")
}
