package oslocache

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
)

// INIFile is a file in oslo.config's ini dialect read line by line, before
// any option is looked at: its sections and every assignment, with the line
// it is on. Load and Parse read files this way; a program that reads other
// sections of the same file (the dogpile command reads dogpile.cache-style
// sections, with keys such as arguments.url) uses it so that every part of
// the file is read by the same rules:
//
//   - "[name]" starts a section; names compare in lower case except
//     DEFAULT, and a section may appear several times;
//   - "#" and ";" start comments at the start of a line only;
//   - "name = value" or "name: value", one pair of quotes around the value
//     removed;
//   - a line starting with a space or tab continues the previous value (a
//     blank line ends it);
//   - every assignment is kept, in file order.
//
// An INIFile does not change after it is read and is safe for concurrent
// use.
type INIFile struct {
	f *iniFile
}

// INIEntry is one assignment of an INIFile: name = value (a multi-line
// value joined with newlines, one pair of surrounding quotes removed, no
// $substitution), and where it was written.
type INIEntry struct {
	Key   string
	Value string
	Pos   Pos
}

// ReadINI reads a file in oslo.config's ini dialect. Errors are Load's: a
// file that cannot be read, or a *SyntaxError naming the line.
func ReadINI(path string) (*INIFile, error) {
	data, err := readConfigFile(path)
	if err != nil {
		return nil, err
	}
	return ParseINI(path, data)
}

// ParseINI is ReadINI for a file already read; name is used in positions
// and error messages.
func ParseINI(name string, data []byte) (*INIFile, error) {
	f, err := parseINI(name, data)
	if err != nil {
		return nil, err
	}
	return &INIFile{f: f}, nil
}

// Name returns the name the file was read from.
func (f *INIFile) Name() string { return f.f.name }

// Sections returns the file's section names, normalized as oslo.config
// normalizes them (lower case, except DEFAULT), in order of first
// appearance. A section written several times is listed once.
func (f *INIFile) Sections() []string {
	return append([]string(nil), f.f.order...)
}

// HasSection reports whether the file has the section (compared as
// oslo.config compares section names: "[CACHE]" is [cache]).
func (f *INIFile) HasSection(name string) bool {
	_, ok := f.f.sections[normalizeSection(name)]
	return ok
}

// SectionPos returns where the section's first header is.
func (f *INIFile) SectionPos(name string) (Pos, bool) {
	s := f.f.sections[normalizeSection(name)]
	if s == nil {
		return Pos{}, false
	}
	return s.pos, true
}

// Entries returns every assignment of a section, in file order (all the
// times the section appears, one after the other). Option names are as
// written; a repeated option appears once per assignment.
func (f *INIFile) Entries(section string) []INIEntry {
	s := f.f.sections[normalizeSection(section)]
	if s == nil {
		return nil
	}
	out := make([]INIEntry, len(s.entries))
	for i, e := range s.entries {
		out[i] = INIEntry{Key: e.key, Value: e.value, Pos: e.pos}
	}
	return out
}

// readConfigFile reads a configuration file, with errors that say which
// file and what went wrong.
func readConfigFile(path string) ([]byte, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		switch {
		case errors.Is(err, fs.ErrNotExist):
			return nil, fmt.Errorf("oslocache: config file %s not found: %w", path, err)
		case errors.Is(err, fs.ErrPermission):
			return nil, fmt.Errorf("oslocache: config file %s cannot be read: %w", path, err)
		}
		return nil, fmt.Errorf("oslocache: %w", err)
	}
	return data, nil
}
