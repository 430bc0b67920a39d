package gocache_test

import (
	"testing"

	"github.com/dogpile-go/dogpile/internal/backendtest"
)

// TestUnknownArgumentsRefused: every backend of the package refuses an
// argument it does not know, naming it, rather than ignoring it.
func TestUnknownArgumentsRefused(t *testing.T) {
	backendtest.RefusesUnknownArguments(t, "gocache", "gocache.go_cache", "gocache.ristretto", "gocache.redis", "gocache.memcache")
}
