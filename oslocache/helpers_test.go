package oslocache

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dogpile-go/dogpile/internal/pyrun"
)

// needPython returns Debian's Python 3 with oslo.cache, oslo.config and
// dogpile.cache, skipping the test (failing it under CI=true) when there is
// none.
func needPython(t testing.TB) *pyrun.Python {
	t.Helper()
	return pyrun.Require(t, "oslo_cache", "oslo_config", "dogpile.cache")
}

// writeConf writes a config file into a temporary directory and returns
// its path.
func writeConf(t testing.TB, name, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// mustParse parses text as keystone.conf, failing the test on error.
func mustParse(t testing.TB, text string) *Config {
	t.Helper()
	c, err := Parse("keystone.conf", []byte(text))
	if err != nil {
		t.Fatalf("Parse: %v\n%s", err, text)
	}
	return c
}

// errContains fails the test unless err's message contains every want.
func errContains(t testing.TB, err error, want ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want one containing %q", want)
	}
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			t.Fatalf("error %q does not contain %q", err, w)
		}
	}
}
