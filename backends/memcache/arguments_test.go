package memcache_test

import (
	"errors"
	"testing"

	"github.com/dogpile-go/dogpile/backends/memcache"
	"github.com/dogpile-go/dogpile/internal/backendtest"
	"github.com/dogpile-go/dogpile/region"
)

// TestUnknownArgumentsRefused: every backend of the package refuses an
// argument it does not know, naming it, rather than ignoring it.
func TestUnknownArgumentsRefused(t *testing.T) {
	backendtest.RefusesUnknownArguments(t, "memcached", memcache.NameDogpileMemcached, memcache.NameDogpilePymemcache, memcache.NameOsloMemcachePool)
}

// TestKVSUnknownArgumentsRefused: Keystone's pivot passes every argument
// it does not use itself to its memcached driver, which refuses unknown
// ones; the error names the driver.
func TestKVSUnknownArgumentsRefused(t *testing.T) {
	_, err := region.NewBackend("openstack.kvs.Memcached", region.Arguments{"lokc_timeout": 5, "no_expiry_keys": "a"})
	want := `backend "openstack.kvs.Memcached": memcached_backend "memcached": unknown argument "lokc_timeout" (did you mean "lock_timeout"?)`
	if !errors.Is(err, region.ErrBadArgument) || err == nil || err.Error() != want {
		t.Fatalf("err = %v\nwant %s", err, want)
	}
}
