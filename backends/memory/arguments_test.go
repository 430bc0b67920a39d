package memory_test

import (
	"testing"

	"github.com/dogpile-go/dogpile/internal/backendtest"
)

// TestUnknownArgumentsRefused: every backend of the package refuses an
// argument it does not know, naming it, rather than ignoring it.
func TestUnknownArgumentsRefused(t *testing.T) {
	backendtest.RefusesUnknownArguments(t, "memory", "memory_serialized", "null", "openstack.kvs.Memory",
		"dogpile.cache.memory", "dogpile.cache.memory_pickle", "dogpile.cache.null", "oslo_cache.dict")
}
