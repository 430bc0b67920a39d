package pickle_test

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"math"
	"os"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/dogpile-go/dogpile/pickle"
)

// testdata/seeds.json holds pickles Python wrote, of every protocol (a
// subset of interop.py dump), to seed the fuzzers without needing Python.
// Regenerate with: go test -run TestSeedsCurrent ./pickle/ -args -update-seeds
var updateSeeds = flag.Bool("update-seeds", false, "rewrite testdata/seeds.json from interop.py dump")

const seedsFile = "testdata/seeds.json"

// seedKey tells whether a dump entry becomes a seed: every small value in
// every protocol, CachedValues of a few, and what the Python clients store.
// Sets of strings are left out: their order changes from run to run.
func seedKey(key string) bool {
	proto, name, _ := strings.Cut(key, "/")
	if proto == "lib" {
		return true
	}
	switch strings.TrimPrefix(name, "cv:") {
	case "list_big", "dict_big", "frozenset":
		return false
	}
	if strings.HasPrefix(name, "cv:") {
		switch name[3:] {
		case "user", "nested", "bytes", "str_nonascii", "set", "int_2_70", "shared_list", "bytearray":
			return true
		}
		return false
	}
	return true
}

func loadSeeds(t testing.TB) map[string][]byte {
	t.Helper()
	raw, err := os.ReadFile(seedsFile)
	if err != nil {
		t.Fatal(err)
	}
	var hexes map[string]string
	if err := json.Unmarshal(raw, &hexes); err != nil {
		t.Fatalf("%s: %v", seedsFile, err)
	}
	seeds := make(map[string][]byte, len(hexes))
	for k, h := range hexes {
		if seeds[k], err = hex.DecodeString(h); err != nil {
			t.Fatalf("%s %s: %v", seedsFile, k, err)
		}
	}
	return seeds
}

// TestSeedsCurrent checks the committed seeds against what Python writes
// now (or rewrites them with -update-seeds).
func TestSeedsCurrent(t *testing.T) {
	dump := pythonDump(t)
	fresh := map[string]string{}
	for k, b := range dump {
		if seedKey(k) {
			fresh[k] = hex.EncodeToString(b)
		}
	}
	if *updateSeeds {
		keys := make([]string, 0, len(fresh))
		for k := range fresh {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		var b strings.Builder
		b.WriteString("{\n")
		for i, k := range keys {
			kj, _ := json.Marshal(k)
			b.WriteString("  " + string(kj) + ": \"" + fresh[k] + "\"")
			if i < len(keys)-1 {
				b.WriteString(",")
			}
			b.WriteString("\n")
		}
		b.WriteString("}\n")
		if err := os.WriteFile(seedsFile, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	seeds := loadSeeds(t)
	if len(seeds) != len(fresh) {
		t.Errorf("%s has %d seeds, Python writes %d; run go test -run TestSeedsCurrent ./pickle/ -args -update-seeds", seedsFile, len(seeds), len(fresh))
	}
	for k, h := range fresh {
		if hex.EncodeToString(seeds[k]) != h {
			t.Errorf("seed %s differs from what Python writes; run go test -run TestSeedsCurrent ./pickle/ -args -update-seeds", k)
		}
	}
}

// classified tells whether err is one this package documents.
func classified(err error) bool {
	var te *pickle.TypeError
	return errors.Is(err, pickle.ErrCorrupt) || errors.Is(err, pickle.ErrLimit) ||
		errors.Is(err, pickle.ErrUnsupported) || errors.Is(err, pickle.ErrNotCachedValue) || errors.As(err, &te)
}

// hasNaNKey tells whether v holds a map keyed by NaN (which no lookup
// finds, so equal cannot compare it).
func hasNaNKey(v any) bool {
	switch x := v.(type) {
	case map[any]any:
		for k, e := range x {
			if f, ok := k.(float64); ok && math.IsNaN(f) || hasNaNKey(e) {
				return true
			}
		}
	case map[string]any:
		for _, e := range x {
			if hasNaNKey(e) {
				return true
			}
		}
	case []any:
		for _, e := range x {
			if hasNaNKey(e) {
				return true
			}
		}
	}
	return false
}

func addSeeds(f *testing.F, cachedValues bool) {
	for k, data := range loadSeeds(f) {
		proto, name, _ := strings.Cut(k, "/")
		isCV := proto == "lib" && !strings.HasPrefix(name, "dogpile-serializer") || strings.HasPrefix(name, "cv:")
		if isCV == cachedValues {
			f.Add(data)
		}
	}
	for _, data := range hugeLengths {
		f.Add([]byte(data))
	}
}

func FuzzDecode(f *testing.F) {
	addSeeds(f, false)
	f.Fuzz(func(t *testing.T, data []byte) {
		validateErr := (pickle.Serializer{}).Validate(data)
		if validateErr != nil && !classified(validateErr) {
			t.Fatalf("Validate: unclassified error %v", validateErr)
		}
		hint, hintErr := (pickle.Serializer{}).ValidateHint(data)
		if fmt.Sprint(hintErr) != fmt.Sprint(validateErr) {
			t.Fatalf("ValidateHint: %v; Validate: %v", hintErr, validateErr)
		}
		if hint != 0 {
			var want, got any
			werr := pickle.Unmarshal(data, &want)
			gerr := (pickle.Serializer{}).UnmarshalHint(data, hint, &got)
			if fmt.Sprint(werr) != fmt.Sprint(gerr) || !hasNaNKey(want) && !equal(want, got) {
				t.Fatalf("UnmarshalHint: %#v, %v; Unmarshal: %#v, %v", got, gerr, want, werr)
			}
		}
		v, err := pickle.Parse(data)
		if err != nil {
			if !classified(err) {
				t.Fatalf("Parse: unclassified error %v", err)
			}
			return
		}
		if validateErr != nil {
			t.Fatalf("Parse accepted what Validate refused: %v", validateErr)
		}
		x, err := v.Value()
		if err != nil {
			if !classified(err) {
				t.Fatalf("Value: unclassified error %v", err)
			}
			return
		}
		var s struct {
			Name  string
			Roles []string
			ID    int
		}
		if err := v.Decode(&s); err != nil && !classified(err) {
			t.Fatalf("Decode into a struct: unclassified error %v", err)
		}
		var m map[any]any
		if err := v.Decode(&m); err != nil && !classified(err) {
			t.Fatalf("Decode into map[any]any: unclassified error %v", err)
		}
		// What was read writes and reads back the same, in every protocol.
		for p := range pickle.HighestProtocol + 1 {
			again, err := pickle.Marshal(x, p)
			if err != nil {
				if !errors.Is(err, pickle.ErrUnsupported) { // a str with invalid UTF-8
					t.Fatalf("Marshal of a decoded value, protocol %d: %v", p, err)
				}
				return
			}
			var y any
			if err := pickle.Unmarshal(again, &y); err != nil {
				t.Fatalf("reading back protocol %d: %v", p, err)
			}
			if !hasNaNKey(x) && !equal(x, y) {
				t.Fatalf("protocol %d: read back %#v, want %#v", p, y, x)
			}
		}
	})
}

func FuzzDecodeCachedValue(f *testing.F) {
	addSeeds(f, true)
	f.Fuzz(func(t *testing.T, data []byte) {
		payload, created, version, err := pickle.DecodeCachedValue(data)
		if err != nil {
			if !classified(err) {
				t.Fatalf("DecodeCachedValue: unclassified error %v", err)
			}
			return
		}
		x, err := payload.Value()
		if err != nil {
			if !classified(err) {
				t.Fatalf("Value: unclassified error %v", err)
			}
			return
		}
		for _, p := range []int{0, 2, 5} {
			again, err := pickle.EncodeCachedValue(x, created, version, p)
			if err != nil {
				if !errors.Is(err, pickle.ErrUnsupported) {
					t.Fatalf("EncodeCachedValue of a decoded value, protocol %d: %v", p, err)
				}
				return
			}
			payload2, created2, version2, err := pickle.DecodeCachedValue(again)
			if err != nil {
				t.Fatalf("reading back protocol %d: %v", p, err)
			}
			if version2 != version || created2.Sub(created).Abs() > time.Millisecond {
				t.Fatalf("protocol %d: read back %v v%d, want %v v%d", p, created2, version2, created, version)
			}
			y, err := payload2.Value()
			if err != nil {
				t.Fatalf("reading back protocol %d: %v", p, err)
			}
			if !hasNaNKey(x) && !equal(x, y) {
				t.Fatalf("protocol %d: read back %#v, want %#v", p, y, x)
			}
		}
	})
}
