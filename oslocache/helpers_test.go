package oslocache

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// python is Debian's Python 3 with oslo.cache and oslo.config (python3 on
// PATH may be another one without them).
const python = "/usr/bin/python3"

// needPython returns the Python interpreter that has oslo.cache and
// oslo.config, skipping the test (failing it under CI=true) when there is
// none.
func needPython(t testing.TB) string {
	t.Helper()
	if err := exec.Command(python, "-c", "import oslo_cache, oslo_config, dogpile.cache").Run(); err != nil {
		msg := python + " with oslo.cache and oslo.config is needed (Debian: apt-get install python3-oslo.cache python3-oslo.config; make test installs them): " + err.Error()
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return python
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
