package oslocache

import (
	"strings"
	"testing"

	goredis "github.com/redis/go-redis/v9"

	redisbackend "github.com/dogpile-go/dogpile/backends/redis" // the dogpile.cache Redis names
	"github.com/dogpile-go/dogpile/region"
)

// TestConfigureEveryBackendFamily runs ConfigureCacheRegion (not only
// RegionSettings) for each backend family with every option that family
// takes set, so that each argument oslocache passes is one the Go backend
// accepts in the form given (tls_allowed_ciphers as ssl_ciphers, a
// net.KeepAliveConfig as socket_keepalive_options, ...). The backends
// connect lazily: no server is needed.
func TestConfigureEveryBackendFamily(t *testing.T) {
	pki := newTestPKI(t)
	tlsOpts := "tls_enabled = true\ntls_cafile = " + pki.CAFile + "\ntls_certfile = " + pki.ClientCert +
		"\ntls_keyfile = " + pki.ClientKey + "\ntls_allowed_ciphers = ECDHE+AESGCM:!aNULL\n"
	keepalive := "enable_socket_keepalive = true\nsocket_keepalive_idle = 30\nsocket_keepalive_interval = 5\nsocket_keepalive_count = 3\n"
	common := "enabled = true\nexpiration_time = 600\ndebug_cache_backend = true\n" +
		"config_prefix = cache.keystone\nbackend_argument = distributed_lock:true\nbackend_argument = lock_timeout:5\n"
	memcacheOpts := "backend_expiration_time = 3600\nmemcache_servers = 127.0.0.1:21211,[::1]:21212\nmemcache_dead_retry = 30\nmemcache_socket_timeout = 2\n" +
		"memcache_pool_maxsize = 5\nmemcache_pool_unused_timeout = 30\nmemcache_pool_connection_get_timeout = 3\n" +
		"memcache_pool_flush_on_reconnect = true\n"
	redisOpts := "backend_expiration_time = 3600\nredis_server = 127.0.0.1:6380\nredis_db = 2\nredis_socket_timeout = 2\nusername = svc\npassword = secret\n"
	retry := "enable_retry_client = true\nretry_attempts = 3\nretry_delay = 0.5\nhashclient_retry_attempts = 2\n" +
		"hashclient_retry_timeout = 1\nhashclient_dead_timeout = 30\n"
	for _, tc := range []struct{ name, section string }{
		{"memory", "backend = dogpile.cache.memory\n"},
		{"oslo_cache.dict", "backend = oslo_cache.dict\n"},
		{"memcached", "backend = dogpile.cache.memcached\n" + memcacheOpts},
		{"memcache_pool", "backend = oslo_cache.memcache_pool\n" + memcacheOpts + tlsOpts},
		{"pymemcache", "backend = dogpile.cache.pymemcache\n" + memcacheOpts + tlsOpts + keepalive + retry},
		{"redis", "backend = dogpile.cache.redis\n" + redisOpts + tlsOpts + keepalive},
		{"redis url", "backend = dogpile.cache.redis\nbackend_argument = url:redis://127.0.0.1:6380/2\n" + redisOpts + tlsOpts + keepalive},
		{"redis_sentinel", "backend = dogpile.cache.redis_sentinel\nredis_sentinels = 127.0.0.1:26379,[::1]:26380\n" +
			"redis_sentinel_service_name = cache\n" + redisOpts + tlsOpts + keepalive},
		{"redis_cluster", "backend = dogpile.cache.redis_cluster\nbackend_argument = url:redis://127.0.0.1:7000\n"},
		{"disabled redis", "backend = dogpile.cache.redis\n" + redisOpts + tlsOpts + keepalive},
	} {
		t.Run(tc.name, func(t *testing.T) {
			text := "[cache]\n" + common + tc.section
			if tc.name == "disabled redis" {
				text = strings.Replace(text, "enabled = true", "enabled = false", 1)
			}
			conf := mustParse(t, text)
			s, err := conf.RegionSettings()
			if err != nil {
				t.Fatalf("RegionSettings: %v", err)
			}
			r := CreateRegion(tc.name)
			if err := conf.ConfigureCacheRegion(r); err != nil {
				t.Fatalf("ConfigureCacheRegion with arguments %#v: %v", s.Arguments, err)
			}
			defer r.Close()
			want := s.ConfiguredBackend
			if tc.name == "disabled redis" {
				want = NullBackend
			}
			if s.Backend != want || !r.IsConfigured() {
				t.Fatalf("backend %q (configured: %v); want %q", s.Backend, r.IsConfigured(), want)
			}
			store, ok := region.BackendAs[*redisbackend.Store](r.ActualBackend())
			if !ok || tc.name == "redis_cluster" {
				return
			}
			// The url's database and no credentials (dogpile.cache drops
			// them next to a url), else redis_db and the credentials.
			o := store.Client().(*goredis.Client).Options()
			wantPassword := "secret"
			if tc.name == "redis url" {
				wantPassword = ""
			}
			if o.DB != 2 || o.Password != wantPassword {
				t.Errorf("DB, Password = %d, %q; want 2, %q", o.DB, o.Password, wantPassword)
			}
		})
	}
}
