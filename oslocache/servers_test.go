package oslocache_test

import (
	"testing"

	_ "github.com/dogpile-go/dogpile/backends/memcache"
	"github.com/dogpile-go/dogpile/oslocache"
	"github.com/dogpile-go/dogpile/region"
)

// TestMemcacheServersEveryForm: every form of memcache_servers that
// oslo.cache documents (host:port, a host without a port, inet:, inet6:[..]
// and a bracketed IPv6 address) configures each memcached backend, in the
// form its client reads (python-memcached reads IPv6 only as inet6:[..]).
func TestMemcacheServersEveryForm(t *testing.T) {
	for _, backend := range []string{"dogpile.cache.memcached", "oslo_cache.memcache_pool", "dogpile.cache.pymemcache"} {
		conf := "[cache]\nenabled = true\nbackend = " + backend + "\n" +
			"memcache_servers = 127.0.0.1:21211, localhost, inet:127.0.0.1:21212, inet6:[::1]:11211, [fd00::2]\n"
		c, err := oslocache.Parse("keystone.conf", []byte(conf))
		if err != nil {
			t.Fatal(err)
		}
		r := region.New("servers-" + backend)
		if err := c.ConfigureCacheRegion(r); err != nil {
			t.Errorf("%s: %v", backend, err)
			continue
		}
		_ = r.Close()
	}
}
