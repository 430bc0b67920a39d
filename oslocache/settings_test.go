package oslocache

import (
	"crypto/tls"
	"errors"
	"net"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	_ "github.com/dogpile-go/dogpile/proxies/metrics" // a second registered proxy
	"github.com/dogpile-go/dogpile/region"
)

// settingsOf maps a [cache] section (the lines given, after "[cache]") to
// region settings.
func settingsOf(t *testing.T, lines ...string) (*RegionSettings, error) {
	t.Helper()
	c := mustParse(t, "[cache]\n"+strings.Join(lines, "\n")+"\n")
	return c.RegionSettings()
}

func mustSettings(t *testing.T, lines ...string) *RegionSettings {
	t.Helper()
	s, err := settingsOf(t, lines...)
	if err != nil {
		t.Fatalf("RegionSettings: %v", err)
	}
	return s
}

// hasNote fails the test unless a note on option contains text.
func hasNote(t *testing.T, s *RegionSettings, option, text string) {
	t.Helper()
	for _, n := range s.Notes {
		if n.Option == option && strings.Contains(n.String(), text) {
			return
		}
	}
	t.Errorf("no note on %s containing %q; notes: %v", option, text, s.Notes)
}

func TestRegionSettingsArguments(t *testing.T) {
	const on = "enabled = true"
	cases := []struct {
		name  string
		lines []string
		want  region.Arguments
	}{
		{"memory", []string{on, "backend = dogpile.cache.memory"}, region.Arguments{}},
		{"dict", []string{on, "backend = oslo_cache.dict", "backend_argument = expiration_time:60"}, region.Arguments{"expiration_time": 60}},
		{"memcached defaults", []string{on, "backend = dogpile.cache.memcached"},
			region.Arguments{"url": []string{"localhost:11211"}, "dead_retry": 300, "socket_timeout": 1.0}},
		{"memcached servers", []string{on, "backend = dogpile.cache.memcached", "memcache_servers = inet6:[::1]:11211, 127.0.0.1 ,inet:h:1,[fd00::2]",
			"memcache_dead_retry = 30", "memcache_socket_timeout = 0.5"},
			region.Arguments{"url": []string{"inet6:[::1]:11211", "127.0.0.1:11211", "h:1", "inet6:[fd00::2]:11211"}, "dead_retry": 30, "socket_timeout": 0.5}},
		{"pymemcache servers", []string{on, "backend = dogpile.cache.pymemcache", "memcache_servers = inet6:[::1]:11211, 127.0.0.1"},
			region.Arguments{"url": []string{"[::1]:11211", "127.0.0.1:11211"}}},
		{"memcache_pool", []string{on, "backend = oslo_cache.memcache_pool", "memcache_servers = a:1,b:2", "memcache_pool_maxsize = 20",
			"memcache_pool_unused_timeout = 30", "memcache_pool_connection_get_timeout = 5", "memcache_pool_flush_on_reconnect = true"},
			region.Arguments{"url": []string{"a:1", "b:2"}, "dead_retry": 300, "socket_timeout": 1.0, "pool_maxsize": 20,
				"pool_unused_timeout": 30, "pool_connection_get_timeout": 5, "pool_flush_on_reconnect": true}},
		{"pymemcache", []string{on, "backend = dogpile.cache.pymemcache", "memcache_servers = a:1"}, region.Arguments{"url": []string{"a:1"}}},
		{"backend_argument url wins", []string{on, "backend = dogpile.cache.pymemcache", "memcache_servers = a:1",
			"backend_argument = url:b:2, c:3", "backend_argument = distributed_lock:True", "backend_argument = lock_timeout: 6 ",
			"backend_argument = memcached_expire_time:1.5"},
			region.Arguments{"url": []string{"b:2", "c:3"}, "distributed_lock": true, "lock_timeout": 6, "memcached_expire_time": 1.5}},
		{"newer socket_timeout wins", []string{on, "backend = dogpile.cache.memcached", "memcache_socket_timeout = 5", "socket_timeout = 2"},
			region.Arguments{"url": []string{"localhost:11211"}, "dead_retry": 300, "socket_timeout": 2.0}},
		{"bmemcached", []string{on, "backend = dogpile.cache.bmemcached", "memcache_username = u", "memcache_password = p"},
			region.Arguments{"url": []string{"localhost:11211"}, "username": "u", "password": "p"}},
		{"redis defaults", []string{on, "backend = dogpile.cache.redis"},
			region.Arguments{"host": "localhost", "port": 6379, "db": 0, "socket_timeout": 1.0}},
		{"redis options", []string{on, "backend = dogpile.cache.redis", "redis_server = [::1]:6380", "redis_db = 2", "redis_password = p",
			"redis_username = u", "redis_socket_timeout = 3", "memcache_password = not-this"},
			region.Arguments{"host": "::1", "port": 6380, "db": 2, "socket_timeout": 3.0, "username": "u", "password": "p"}},
		{"redis url", []string{on, "backend = dogpile.cache.redis", "backend_argument = url:redis://h:1/0", "password = p"},
			region.Arguments{"url": "redis://h:1/0", "socket_timeout": 1.0}},
		{"redis sentinel", []string{on, "backend = dogpile.cache.redis_sentinel", "redis_sentinels = s1:26379, [::1]:26380",
			"redis_sentinel_service_name = main"},
			region.Arguments{"sentinels": []string{"s1:26379", "[::1]:26380"}, "service_name": "main", "db": 0, "socket_timeout": 1.0}},
		{"redis cluster", []string{on, "backend = dogpile.cache.redis_cluster", "backend_argument = url:redis://h:1"},
			region.Arguments{"url": "redis://h:1"}},
		{"backend expiration memcached", []string{on, "backend = dogpile.cache.memcached", "expiration_time = 60", "backend_expiration_time = 60"},
			region.Arguments{"url": []string{"localhost:11211"}, "dead_retry": 300, "socket_timeout": 1.0, "memcached_expire_time": 60}},
		{"backend expiration redis", []string{on, "backend = dogpile.cache.redis", "backend_expiration_time = 3600"},
			region.Arguments{"host": "localhost", "port": 6379, "db": 0, "socket_timeout": 1.0, "redis_expiration_time": 3600}},
		{"keepalive pymemcache", []string{on, "backend = dogpile.cache.pymemcache", "enable_socket_keepalive = true",
			"socket_keepalive_idle = 30", "socket_keepalive_interval = 5", "socket_keepalive_count = 3"},
			region.Arguments{"url": []string{"localhost:11211"},
				"socket_keepalive": net.KeepAliveConfig{Enable: true, Idle: 30 * time.Second, Interval: 5 * time.Second, Count: 3}}},
		{"keepalive redis", []string{on, "backend = dogpile.cache.redis", "enable_socket_keepalive = true"},
			region.Arguments{"host": "localhost", "port": 6379, "db": 0, "socket_timeout": 1.0, "socket_keepalive": true,
				"socket_keepalive_options": net.KeepAliveConfig{Enable: true, Idle: time.Second, Interval: time.Second, Count: 1}}},
		{"retry client", []string{on, "backend = dogpile.cache.pymemcache", "enable_retry_client = true", "retry_attempts = 3",
			"retry_delay = 0.25", "hashclient_retry_attempts = 4", "hashclient_retry_delay = 2", "dead_timeout = 30"},
			region.Arguments{"url": []string{"localhost:11211"}, "enable_retry_client": true, "retry_attempts": 3, "retry_delay": 0.25,
				"hashclient_retry_attempts": 4, "hashclient_retry_timeout": 2.0, "hashclient_dead_timeout": 30.0}},
		{"retry client newer names win", []string{on, "backend = dogpile.cache.pymemcache", "enable_retry_client = true",
			"hashclient_retry_delay = 2", "hashclient_retry_timeout = 3", "dead_timeout = 30", "hashclient_dead_timeout = 40"},
			region.Arguments{"url": []string{"localhost:11211"}, "enable_retry_client": true, "retry_attempts": 2, "retry_delay": 0.0,
				"hashclient_retry_attempts": 2, "hashclient_retry_timeout": 3.0, "hashclient_dead_timeout": 40.0}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := mustSettings(t, c.lines...)
			if !reflect.DeepEqual(s.Arguments, c.want) {
				t.Errorf("arguments\n got %#v\nwant %#v\nnotes %v", s.Arguments, c.want, s.Notes)
			}
			if s.Backend != s.ConfiguredBackend || !s.Enabled {
				t.Errorf("backend %q (configured %q, enabled %v)", s.Backend, s.ConfiguredBackend, s.Enabled)
			}
		})
	}
}

// With backend_argument url, dogpile.cache.redis gets neither a db nor
// credentials (dogpile.cache would drop them, the Go backend refuses them):
// the options that would give them are noted.
func TestRegionSettingsRedisURLNotes(t *testing.T) {
	s := mustSettings(t, "enabled = true", "backend = dogpile.cache.redis", "backend_argument = url:redis://h:1/2",
		"redis_server = h:2", "redis_db = 3", "redis_username = u", "password = p")
	if want := (region.Arguments{"url": "redis://h:1/2", "socket_timeout": 1.0}); !reflect.DeepEqual(s.Arguments, want) {
		t.Errorf("arguments %#v, want %#v", s.Arguments, want)
	}
	for _, o := range []string{"redis_server", "redis_db", "redis_username", "password"} {
		hasNote(t, s, o, "backend_argument url (line 4) takes precedence")
	}
}

func TestRegionSettingsNotes(t *testing.T) {
	s := mustSettings(t, "enabled = true", "backend = dogpile.cache.memcached", "memcache_servers = a:1",
		"backend_argument = url:b:2", "backend_argument = dead_retry:5", "backend_argument = lock_timeout:1",
		"backend_argument = lock_timeout:2", "backend_argument =", "memcache_pool_maxsize = 3", "tls_cafile = /x",
		"socket_keepalive_idle = 4", "retry_attempts = 5", "config_prefix = cache.keystone", "redis_db = 1",
		"memcache_socket_timeout = 7", "socket_timeout = 8")
	if got := s.Arguments["lock_timeout"]; got != 2 {
		t.Errorf("lock_timeout = %v, want the last line's 2", got)
	}
	if got := s.Arguments["dead_retry"]; got != 300 {
		t.Errorf("dead_retry = %v, want memcache_dead_retry's 300", got)
	}
	hasNote(t, s, "memcache_servers", "keystone.conf:4: [cache] memcache_servers: backend_argument url (line 5) takes precedence")
	hasNote(t, s, "backend_argument", "keystone.conf:6: [cache] backend_argument: dead_retry is replaced by [cache] memcache_dead_retry")
	hasNote(t, s, "backend_argument", "keystone.conf:7: [cache] backend_argument: lock_timeout is set again at line 8")
	hasNote(t, s, "backend_argument", "keystone.conf:9: [cache] backend_argument: empty: skipped")
	hasNote(t, s, "memcache_pool_maxsize", "no effect with the dogpile.cache.memcached backend")
	hasNote(t, s, "tls_cafile", "no effect: tls_enabled is false")
	hasNote(t, s, "socket_keepalive_idle", "no effect: enable_socket_keepalive is false")
	hasNote(t, s, "retry_attempts", "no effect: enable_retry_client is false")
	hasNote(t, s, "config_prefix", "no effect in Go")
	hasNote(t, s, "redis_db", "no effect with the dogpile.cache.memcached backend")
	// The pool's timeouts reach oslo_cache.memcache_pool, as in oslo.cache,
	// and are noted as having no effect in Go.
	pool := mustSettings(t, "enabled = true", "backend = oslo_cache.memcache_pool", "memcache_pool_unused_timeout = 30", "memcache_pool_connection_get_timeout = 5")
	hasNote(t, pool, "memcache_pool_unused_timeout", "keystone.conf:4: [cache] memcache_pool_unused_timeout: passed as pool_unused_timeout, which has no effect in Go")
	hasNote(t, pool, "memcache_pool_connection_get_timeout", "keystone.conf:5: [cache] memcache_pool_connection_get_timeout: passed as pool_connection_get_timeout, which has no effect in Go")
	hasNote(t, s, "memcache_socket_timeout", "overridden by socket_timeout (line 17)")

	// Caching disabled: the null backend, no arguments; what Go does not
	// support is moot, oslo.cache's own rules still hold.
	s = mustSettings(t, "backend = oslo_cache.memcache_pool", "memcache_sasl_enabled = true", "expiration_time = 30")
	if s.Backend != NullBackend || s.ConfiguredBackend != "oslo_cache.memcache_pool" || len(s.Arguments) != 0 || s.ExpirationTime != 30*time.Second {
		t.Errorf("disabled: %+v", s)
	}
	hasNote(t, s, "enabled", "caching is disabled: the region gets dogpile.cache.null")
	hasNote(t, s, "memcache_sasl_enabled", "no matter while caching is disabled")
	_, err := settingsOf(t, "backend = dogpile.cache.memcached", "enable_socket_keepalive = true")
	errContains(t, err, "keystone.conf:3: [cache] enable_socket_keepalive: socket keepalive is only supported by the dogpile.cache.pymemcache backend")
}

func TestRegionSettingsProxies(t *testing.T) {
	s := mustSettings(t, "enabled = true", "backend = dogpile.cache.memory", "proxies = metrics, logging", "debug_cache_backend = true")
	if want := []string{"logging", "metrics", "logging"}; !reflect.DeepEqual(s.Proxies, want) {
		t.Errorf("proxies %v, want %v (the last listed outermost, the debug proxy innermost)", s.Proxies, want)
	}
	_, err := settingsOf(t, "enabled = true", "proxies = keystone.common.cache.Proxy")
	errContains(t, err, `keystone.conf:3: [cache] proxies: "keystone.common.cache.Proxy" is not a registered proxy (registered: logging, metrics)`)
}

func TestRegionSettingsErrors(t *testing.T) {
	const on = "enabled = true"
	cases := []struct {
		name  string
		lines []string
		kind  error
		want  string
	}{
		{"sasl", []string{on, "backend = oslo_cache.memcache_pool", "memcache_sasl_enabled = true"}, ErrUnsupported,
			"keystone.conf:4: [cache] memcache_sasl_enabled: SASL authentication needs memcached's binary protocol"},
		{"dbm", []string{on, "backend = dogpile.cache.dbm"}, ErrUnsupported, "keystone.conf:3: [cache] backend: dogpile.cache.dbm: a DBM file"},
		{"mongo", []string{on, "backend = oslo_cache.mongo"}, ErrUnsupported, "[cache] backend: oslo_cache.mongo: MongoDB"},
		{"etcd3gw", []string{on, "backend = oslo_cache.etcd3gw"}, ErrUnsupported, "[cache] backend: oslo_cache.etcd3gw"},
		{"backend_argument without colon", []string{on, "backend_argument = url"}, ErrBadValue,
			`keystone.conf:3: [cache] backend_argument: cannot use "url": want name:value`},
		{"bad server", []string{on, "backend = dogpile.cache.memcached", "memcache_servers = ::1:11211"}, ErrBadValue,
			"keystone.conf:4: [cache] memcache_servers: server \"::1:11211\": an IPv6 address needs brackets"},
		{"bad inet6", []string{on, "backend = dogpile.cache.memcached", "memcache_servers = inet6:::1"}, ErrBadValue, "inet6: wants the address in brackets"},
		{"bad port", []string{on, "backend = dogpile.cache.memcached", "backend_argument = url:a:x"}, ErrBadValue,
			`keystone.conf:4: [cache] backend_argument: url: server "a:x": bad port "x"`},
		{"empty dead_retry", []string{on, "backend = dogpile.cache.memcached", "memcache_dead_retry ="}, ErrBadValue,
			"keystone.conf:4: [cache] memcache_dead_retry: empty value"},
		{"sentinel without port", []string{on, "backend = dogpile.cache.redis_sentinel", "redis_sentinels = s1"}, ErrBadValue,
			`[cache] redis_sentinels: malformed sentinel server "s1": a port is required`},
		{"bad redis_server", []string{on, "backend = dogpile.cache.redis", "redis_server = h:port"}, ErrBadValue,
			`keystone.conf:4: [cache] redis_server: cannot use "h:port": bad port`},
		{"backend expiration too small", []string{on, "backend = dogpile.cache.memcached", "backend_expiration_time = 60"}, ErrBadValue,
			"keystone.conf:4: [cache] backend_expiration_time: 60 is smaller than expiration_time (600)"},
		{"backend expiration memory", []string{on, "backend = dogpile.cache.memory", "backend_expiration_time = 900"}, ErrBadValue,
			"[cache] backend_expiration_time: not supported by the dogpile.cache.memory backend"},
		{"tls with python-memcached", []string{on, "backend = dogpile.cache.memcached", "tls_enabled = true"}, ErrBadValue,
			"keystone.conf:4: [cache] tls_enabled: TLS is not supported by the dogpile.cache.memcached backend"},
		{"tls missing CA", []string{on, "backend = dogpile.cache.pymemcache", "tls_enabled = true", "tls_cafile = /nonexistent/ca.pem"}, ErrBadValue,
			"keystone.conf:5: [cache] tls_cafile: cannot read CA file"},
		{"tls CA not a file", []string{on, "backend = dogpile.cache.pymemcache", "tls_enabled = true", "tls_cafile = /dev/null"}, ErrBadValue,
			"keystone.conf:5: [cache] tls_cafile: cannot read CA file: /dev/null is not a regular file"},
		{"tls bad client cert", []string{on, "backend = dogpile.cache.pymemcache", "tls_enabled = true", "tls_certfile = /nonexistent.pem"}, ErrBadValue,
			"keystone.conf:5: [cache] tls_certfile: cannot read the client certificate"},
		{"tls bad cipher", []string{on, "backend = dogpile.cache.pymemcache", "tls_enabled = true", "tls_allowed_ciphers = ECDHE-RSA-AES128-GCM-SHA256:BOGUS"},
			ErrBadValue, `keystone.conf:5: [cache] tls_allowed_ciphers: unknown cipher or class "BOGUS"`},
		{"fips", []string{on, "backend = dogpile.cache.pymemcache", "tls_enabled = true", "enforce_fips_mode = true"}, ErrUnsupported,
			"keystone.conf:5: [cache] enforce_fips_mode: Go's FIPS 140-3 mode is off"},
		{"keepalive zero", []string{on, "backend = dogpile.cache.pymemcache", "enable_socket_keepalive = true", "socket_keepalive_idle = 0"}, ErrBadValue,
			"keystone.conf:5: [cache] socket_keepalive_idle: cannot use 0 with enable_socket_keepalive"},
		{"retry with memcached", []string{on, "backend = dogpile.cache.memcached", "enable_retry_client = true"}, ErrBadValue,
			"keystone.conf:4: [cache] enable_retry_client: the retry client is only supported by the dogpile.cache.pymemcache backend"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := settingsOf(t, c.lines...)
			errContains(t, err, c.want)
			if !errors.Is(err, c.kind) {
				t.Errorf("%v is not %v", err, c.kind)
			}
			var oe *OptionError
			if !errors.As(err, &oe) {
				t.Errorf("%v is not an *OptionError", err)
			}
		})
	}
	// Several problems are all reported.
	_, err := settingsOf(t, "enabled = true", "backend = dogpile.cache.memcached", "tls_enabled = true", "enable_retry_client = true")
	errContains(t, err, "[cache] tls_enabled:", "[cache] enable_retry_client:")
}

func TestRegionSettingsTLS(t *testing.T) {
	pki := newTestPKI(t)
	s := mustSettings(t, "enabled = true", "backend = oslo_cache.memcache_pool", "tls_enabled = true",
		"tls_cafile = "+pki.CAFile, "tls_certfile = "+pki.ClientCert, "tls_keyfile = "+pki.ClientKey,
		"tls_allowed_ciphers = ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES256-GCM-SHA384")
	cfg, ok := s.Arguments["tls_context"].(*tls.Config)
	if !ok {
		t.Fatalf("tls_context %T", s.Arguments["tls_context"])
	}
	if cfg.RootCAs == nil || len(cfg.Certificates) != 1 || cfg.MinVersion != tls.VersionTLS12 {
		t.Errorf("tls.Config %+v", cfg)
	}
	if want := []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384}; !reflect.DeepEqual(cfg.CipherSuites, want) {
		t.Errorf("cipher suites %v, want %v", cfg.CipherSuites, want)
	}
	// The key in the certificate file, as load_cert_chain allows.
	both := writeConf(t, "both.pem", readFile(t, pki.ClientCert)+readFile(t, pki.ClientKey))
	s = mustSettings(t, "enabled = true", "backend = dogpile.cache.pymemcache", "tls_enabled = true", "tls_certfile = "+both)
	if cfg := s.Arguments["tls_context"].(*tls.Config); len(cfg.Certificates) != 1 || cfg.RootCAs != nil {
		t.Errorf("tls.Config %+v: want the client certificate and the system's roots", cfg)
	}
	// Redis: redis-py's connection arguments, as oslo.cache passes them.
	s = mustSettings(t, "enabled = true", "backend = dogpile.cache.redis_sentinel", "tls_enabled = true", "tls_cafile = ca.pem", "tls_keyfile = k.pem")
	want := map[string]any{"ssl": true, "ssl_ca_certs": "ca.pem"}
	if !reflect.DeepEqual(s.Arguments["connection_kwargs"], want) || !reflect.DeepEqual(s.Arguments["sentinel_kwargs"], want) {
		t.Errorf("connection_kwargs %v, sentinel_kwargs %v", s.Arguments["connection_kwargs"], s.Arguments["sentinel_kwargs"])
	}
	hasNote(t, s, "tls_keyfile", "no effect without tls_certfile")
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
