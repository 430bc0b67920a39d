package oslocache

import (
	"errors"
	"strings"
	"testing"
)

// FuzzParse feeds arbitrary files to the reader: it must never panic, every
// error must be one of the package's and name the file, and a file it
// accepts must have every [cache] option read and mapped to a region (or
// refused) without panicking.
func FuzzParse(f *testing.F) {
	for _, text := range pythonCorpus {
		f.Add([]byte(text))
	}
	f.Add([]byte("[cache]\nenabled = true\nbackend = oslo_cache.memcache_pool\nmemcache_servers = inet6:[::1]:11211, 127.0.0.1\n" +
		"backend_argument = url:a:1,b:2\nbackend_argument = lock_timeout:5\ntls_enabled = true\ntls_allowed_ciphers = HIGH:!aNULL\n"))
	f.Add([]byte("[cache]\nenabled = true\nbackend = dogpile.cache.redis_sentinel\nredis_sentinels = [::1]:26379,h:1\nbackend_expiration_time = 900\nenable_socket_keepalive = true\n"))
	f.Add([]byte("[DEFAULT]\na = $b\nb = ${a}\n[cache]\nconfig_prefix = $a\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Parse("f.conf", data)
		if err != nil {
			if !errors.Is(err, ErrSyntax) && !errors.Is(err, ErrBadValue) && !errors.Is(err, ErrUnknownOption) {
				t.Fatalf("error of no known kind: %v", err)
			}
			if !strings.HasPrefix(err.Error(), "f.conf") {
				t.Fatalf("error does not name the file: %v", err)
			}
			return
		}
		for _, d := range cacheOptions {
			ov, ok := c.cache[d.name]
			if !ok || ov.def.name != d.name {
				t.Fatalf("option %s not read", d.name)
			}
			if ov.set && ov.pos.Line == 0 {
				t.Fatalf("option %s set without a line", d.name)
			}
		}
		for _, s := range c.Sections() {
			if s != normalizeSection(s) {
				t.Fatalf("section %q not normalized", s)
			}
		}
		_, _ = c.RegionSettings()
		_ = c.Memoize("token")
	})
}
