package memcache_test

import (
	"fmt"
	"testing"

	gomemcache "github.com/bradfitz/gomemcache/memcache"

	"github.com/dogpile-go/dogpile/backends/memcache"
)

// BenchmarkPythonPickServer compares the cost of picking a key's server:
// gomemcache's CRC-32 modulo, python-memcached's buckets and pymemcache's
// rendezvous hashing, over three servers.
func BenchmarkPythonPickServer(b *testing.B) {
	servers := []string{"127.0.0.1:1", "127.0.0.1:2", "127.0.0.1:3"}
	keys := make([]string, 100)
	for i := range keys {
		keys[i] = fmt.Sprintf("svc.users:get_user|%d", i)
	}
	modulo := new(gomemcache.ServerList)
	if err := modulo.SetServers(servers...); err != nil {
		b.Fatal(err)
	}
	pm, err := memcache.NewPythonMemcacheSelector(servers...)
	if err != nil {
		b.Fatal(err)
	}
	hc, err := memcache.NewRendezvousSelector(servers...)
	if err != nil {
		b.Fatal(err)
	}
	for name, sel := range map[string]gomemcache.ServerSelector{"gomemcache_modulo": modulo, "python_memcached": pm, "pymemcache_rendezvous": hc} {
		b.Run(name, func(b *testing.B) {
			i := 0
			for b.Loop() {
				if _, err := sel.PickServer(keys[i%len(keys)]); err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
	}
}

func TestCmemcacheHash(t *testing.T) {
	// Values python-memcached's cmemcache_hash gives (checked with
	// /usr/bin/python3 -c 'import memcache; print(memcache.cmemcache_hash(b"..."))').
	for key, want := range map[string]uint32{"a": 26807, "b": 29118, "": 1} {
		if got := memcache.CmemcacheHash(key); got != want {
			t.Errorf("CmemcacheHash(%q) = %d, want %d", key, got, want)
		}
	}
}
