package memcache_test

import (
	"testing"
	"time"

	"github.com/dogpile-go/dogpile/backends/memcache"
	"github.com/dogpile-go/dogpile/internal/testservers"
	"github.com/dogpile-go/dogpile/region"
)

// TestSharedInvalidationRecordTTL: the shared invalidation record is
// written with memcached_expire_time like any value, and
// openstack.kvs.Memcached keeps it forever when its key (before mangling)
// is listed in no_expiry_keys, as docs/memcached.md advises.
func TestSharedInvalidationRecordTTL(t *testing.T) {
	s := testservers.MemcachedN(t, 3)
	p := testservers.UniqueKey(t, "")
	locate := newBackend(t, memcache.Options{Servers: s})
	ttl := func(key string) (int, bool) {
		t.Helper()
		mk := region.SHA1MangleKey(key)
		addr, err := locate.ServerFor(mk)
		if err != nil {
			t.Fatal(err)
		}
		return metaTTL(t, addr, mk)
	}
	configure := func(name, backend string, args region.Arguments) *region.Region {
		t.Helper()
		r := region.New(name)
		inv := region.NewSharedInvalidation(r, region.SharedInvalidationOptions{CacheFor: time.Hour})
		args["url"] = s
		if err := r.Configure(backend, region.WithExpirationTime(time.Minute), region.WithInvalidator(inv), region.WithArguments(args)); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = r.Close() })
		return r
	}

	plain := configure(p+"plain", "memcached", region.Arguments{"memcached_expire_time": 60})
	plain.Invalidate(true)
	if n, ok := ttl("dogpile.invalidation:" + p + "plain"); !ok || n < 58 || n > 60 {
		t.Errorf("memcached: the record's server TTL is %d (present %v); want memcached_expire_time, 60 s", n, ok)
	}

	name := p + "kvs"
	record := "dogpile.invalidation:" + name
	kvs := configure(name, "openstack.kvs.Memcached", region.Arguments{"memcached_expire_time": 60, "no_expiry_keys": []string{record}})
	kvs.Invalidate(false)
	if n, ok := ttl(record); !ok || n != -1 {
		t.Errorf("openstack.kvs.Memcached with the record in no_expiry_keys: TTL %d (present %v); want -1 (no expiry)", n, ok)
	}
}
