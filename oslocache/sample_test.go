package oslocache

import (
	"errors"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/dogpile-go/dogpile/internal/pyrun"
)

// generatedSample is the [cache] sample that Debian's oslo-config-generator
// (python3-oslo.config) writes for python3-oslo.cache: every option
// commented out, with its default.
func generatedSample(t *testing.T) string {
	t.Helper()
	py := needPython(t)
	return string(py.Run(t, pyrun.Script{Source: "from oslo_config import generator; generator.main(['--namespace', 'oslo.cache'])"}))
}

var sampleOption = regexp.MustCompile(`(?m)^#([a-z_0-9]+) = ?(.*)$`)

// TestGeneratedSample: the generated sample parses, every option in it is
// one this package defines, and uncommented (every option set to its
// default) it parses and maps to a region with no error.
func TestGeneratedSample(t *testing.T) {
	sample := generatedSample(t)
	c, err := Parse("oslo.cache.sample.conf", []byte(sample))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.RegionSettings(); err != nil {
		t.Fatal(err)
	}
	matches := sampleOption.FindAllStringSubmatch(sample, -1)
	if len(matches) < 30 {
		t.Fatalf("only %d options in the sample:\n%s", len(matches), sample)
	}
	var names []string
	for _, m := range matches {
		if _, ok := lookupOption(m[1]); !ok {
			t.Errorf("sample option %s is not defined here", m[1])
		}
		names = append(names, m[1])
	}
	uncommented := sampleOption.ReplaceAllString(sample, "$1 = $2")
	c, err = Parse("uncommented.conf", []byte(uncommented))
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range names {
		if !c.cache[n].set {
			t.Errorf("uncommented sample does not set %s", n)
		}
	}
	s, err := c.RegionSettings()
	if err != nil {
		t.Fatal(err)
	}
	if s.Backend != NullBackend {
		t.Errorf("backend %s", s.Backend)
	}
	// The same with caching on, for every backend the sample offers: a
	// region, or a refusal that names the backend.
	choices := regexp.MustCompile(`(?m)^# ((?:oslo_cache|dogpile\.cache)\.[a-z_0-9]+) - `).FindAllStringSubmatch(sample, -1)
	if len(choices) < 10 {
		t.Fatalf("only %d backends in the sample", len(choices))
	}
	for _, ch := range choices {
		text := strings.Replace(uncommented, "enabled = false", "enabled = true", 1)
		text = strings.Replace(text, "backend = dogpile.cache.null", "backend = "+ch[1], 1)
		c, err := Parse("uncommented.conf", []byte(text))
		if err != nil {
			t.Fatalf("%s: %v", ch[1], err)
		}
		s, err := c.RegionSettings()
		switch {
		case err == nil:
			if s.Backend != ch[1] {
				t.Errorf("%s: backend %s", ch[1], s.Backend)
			}
		case errors.Is(err, ErrUnsupported) && strings.Contains(err.Error(), "[cache] backend: "+ch[1]):
			if _, ok := unsupportedBackends[ch[1]]; !ok {
				t.Errorf("%s refused: %v", ch[1], err)
			}
		default:
			t.Errorf("%s: %v", ch[1], err)
		}
	}
}

// TestNewestOptions: every option of the newer releases, set to its
// default, parses and maps to a region.
func TestNewestOptions(t *testing.T) {
	c := newestOptions(t)
	if _, err := c.RegionSettings(); err != nil {
		t.Fatal(err)
	}
}

func newestOptions(t *testing.T) *Config {
	t.Helper()
	data, err := os.ReadFile("testdata/newest-options.conf")
	if err != nil {
		t.Fatal(err)
	}
	c, err := Parse("testdata/newest-options.conf", data)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestOptionsCovered: the generated 3.2 sample and the newer releases'
// options together are exactly the options this package defines.
func TestOptionsCovered(t *testing.T) {
	covered := map[string]bool{}
	for _, n := range newestOptions(t).Keys("cache") {
		covered[n] = true
	}
	for _, m := range sampleOption.FindAllStringSubmatch(generatedSample(t), -1) {
		covered[m[1]] = true
	}
	for _, n := range OptionNames() {
		if !covered[n] {
			t.Errorf("option %s is in neither the generated sample nor testdata/newest-options.conf", n)
		}
		delete(covered, n)
	}
	for n := range covered {
		t.Errorf("option %s of the samples is not defined here", n)
	}
}
