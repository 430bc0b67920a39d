package memcachedmutex

import (
	"testing"
	"time"

	"github.com/bradfitz/gomemcache/memcache"

	"github.com/dogpile-go/dogpile/internal/testservers"
)

// newMemcachedClient returns a client for the test memcached servers.
func newMemcachedClient(t testing.TB) *memcache.Client {
	t.Helper()
	c := memcache.New(testservers.Memcached(t)...)
	c.Timeout = 5 * time.Second // a loaded test machine can be slow
	c.MaxIdleConns = 20
	t.Cleanup(func() { _ = c.Close() })
	return c
}
