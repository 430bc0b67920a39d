package gocache_test

import (
	"errors"
	"testing"

	"github.com/dogpile-go/dogpile/region"
)

// TestUnknownArgumentsRefused: every backend of the package refuses an
// argument it does not know, naming it, rather than ignoring it.
func TestUnknownArgumentsRefused(t *testing.T) {
	for _, name := range []string{"gocache", "gocache.go_cache", "gocache.ristretto", "gocache.redis", "gocache.memcache"} {
		_, err := region.NewBackend(name, region.Arguments{"lokc_timeout": 5})
		var ue *region.UnknownArgumentError
		if !errors.Is(err, region.ErrBadArgument) || !errors.As(err, &ue) {
			t.Errorf("%s: err = %v, want an *UnknownArgumentError", name, err)
			continue
		}
		if ue.Backend != name || len(ue.Names) != 1 || ue.Names[0] != "lokc_timeout" {
			t.Errorf("%s: error names %+v", name, ue)
		}
		if ue.Suggestions["lokc_timeout"] != "lock_timeout" {
			t.Errorf("%s: no \"did you mean lock_timeout\" in %v", name, err)
		}
	}
}
