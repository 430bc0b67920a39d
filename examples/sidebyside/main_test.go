package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/dogpile-go/dogpile/internal/pyrun"
	"github.com/dogpile-go/dogpile/internal/testservers"
)

// TestSideBySide runs the example as docs/side-by-side.md does: the
// Python half caches a user, the Go half reads it and stores a greeting,
// the Python half reads the greeting.
func TestSideBySide(t *testing.T) {
	py := pyrun.Require(t, "dogpile.cache", "memcache")
	url := strings.Join(testservers.MemcachedN(t, 3), ",")
	// The example's keys are fixed; start from a clean slate for them.
	py.Run(t, pyrun.Script{Source: `
import sys, memcache
c = memcache.Client(sys.argv[1].split(","))
c.delete("svc.users:get_user|42"); c.delete("greeting")
`, Args: []string{url}})
	if got := string(py.Run(t, pyrun.Script{File: "python/app.py", Args: []string{url, "write"}})); !strings.Contains(got, "python cached {'id': 42") {
		t.Fatalf("python write: %q", got)
	}
	var buf bytes.Buffer
	if err := run(t.Context(), url, &buf); err != nil {
		t.Fatal(err)
	}
	if want := "go read Ada Lovelace (key \"svc.users:get_user|42\") with roles [admin reader]\ngo stored greeting\n"; buf.String() != want {
		t.Fatalf("go: %q, want %q", buf.String(), want)
	}
	if got := string(py.Run(t, pyrun.Script{File: "python/app.py", Args: []string{url, "read"}})); got != "python read hello from Go\n" {
		t.Fatalf("python read: %q", got)
	}
}
