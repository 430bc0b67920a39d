package memcache_test

import (
	"errors"
	"testing"

	"github.com/dogpile-go/dogpile/backends/memcache"
	"github.com/dogpile-go/dogpile/region"
)

// TestUnknownArgumentsRefused: every backend of the package refuses an
// argument it does not know, naming it, rather than ignoring it.
func TestUnknownArgumentsRefused(t *testing.T) {
	for _, name := range []string{"memcached", memcache.NameDogpileMemcached, memcache.NameDogpilePymemcache, memcache.NameOsloMemcachePool} {
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
