package memcache_test

import (
	"crypto/tls"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/dogpile-go/dogpile/backends/memcache"
	"github.com/dogpile-go/dogpile/region"
)

func TestDogpileNamesDefaults(t *testing.T) {
	o, err := memcache.DogpileMemcachedOptions(region.Arguments{"url": "127.0.0.1:11211"})
	if err != nil {
		t.Fatal(err)
	}
	if o.DistributedLock || o.LockTimeout != 0 || o.ExpireTime != 0 || o.MinCompressLen != 0 ||
		o.DeadRetry != 30*time.Second || o.SocketTimeout != 3*time.Second || o.Client != memcache.PythonMemcached {
		t.Fatalf("dogpile.cache.memcached defaults: %+v", o)
	}
	o, err = memcache.OsloMemcachePoolOptions(region.Arguments{"url": []string{"127.0.0.1:11211"}, "pool_maxsize": 10, "server_max_value_length": 4096})
	if err != nil {
		t.Fatal(err)
	}
	if o.DeadRetry != 300*time.Second || o.MaxIdleConns != 10 || o.MaxItemSize != 4096+memcache.ItemOverhead+memcache.MaxKeyLength {
		t.Fatalf("oslo_cache.memcache_pool defaults: %+v", o)
	}
	o, err = memcache.DogpilePymemcacheOptions(region.Arguments{"url": "127.0.0.1:11211"})
	if err != nil {
		t.Fatal(err)
	}
	if o.HashclientRetryAttempts != 2 || o.HashclientRetryTimeout != time.Second || o.HashclientDeadTimeout != 60*time.Second ||
		o.RetryAttempts != 0 || o.Client != memcache.Pymemcache || o.DistributedLock {
		t.Fatalf("dogpile.cache.pymemcache defaults: %+v", o)
	}
	// An explicit 0 is pymemcache's 0, a negative value in PythonOptions.
	o, err = memcache.DogpilePymemcacheOptions(region.Arguments{"url": "127.0.0.1:11211",
		"hashclient_retry_attempts": 0, "hashclient_retry_timeout": 0, "hashclient_dead_timeout": 0.0})
	if err != nil {
		t.Fatal(err)
	}
	if o.HashclientRetryAttempts >= 0 || o.HashclientRetryTimeout >= 0 || o.HashclientDeadTimeout >= 0 {
		t.Fatalf("dogpile.cache.pymemcache with hashclient_* 0: %+v", o)
	}
}

// TestOsloArgumentsAccepted: what oslo.cache's configure_cache_region
// passes to every memcached backend is accepted by every name.
func TestOsloArgumentsAccepted(t *testing.T) {
	osloArgs := region.Arguments{
		"url": "127.0.0.1:11211,127.0.0.1:11212", "dead_retry": 300, "socket_timeout": 3.0, "pool_maxsize": 10,
		"pool_unused_timeout": 60, "pool_connection_get_timeout": 10, "pool_flush_on_reconnect": false,
		"sasl_enabled": false, "username": nil, "password": nil,
	}
	for _, name := range fleetNames {
		if _, err := region.NewBackend(name, osloArgs); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	retry := osloArgs.Clone()
	for k, v := range map[string]any{"enable_retry_client": true, "retry_attempts": 2, "retry_delay": 0,
		"hashclient_retry_attempts": 2, "hashclient_retry_delay": 1, "dead_timeout": 60} {
		retry[k] = v
	}
	if _, err := region.NewBackend(memcache.NameDogpilePymemcache, retry); err != nil {
		t.Errorf("pymemcache with oslo's retry arguments: %v", err)
	}
}

func TestDogpileNamesRefuse(t *testing.T) {
	url := "127.0.0.1:11211"
	cases := []struct {
		name string
		args region.Arguments
		want string
		is   error
	}{
		{memcache.NameDogpileMemcached, region.Arguments{"url": url, "sasl_enabled": true}, "binary protocol", memcache.ErrUnsupportedBackend},
		{memcache.NameOsloMemcachePool, region.Arguments{"url": url, "username": "u"}, "SASL", memcache.ErrUnsupportedBackend},
		{memcache.NameDogpilePymemcache, region.Arguments{"url": url, "serde": struct{}{}}, "serde", region.ErrBadArgument},
		{memcache.NameDogpilePymemcache, region.Arguments{"url": url, "retry_for": []string{"IOError"}}, "retry_for", region.ErrBadArgument},
		{memcache.NameDogpilePymemcache, region.Arguments{"url": url, "do_not_retry_for": "x"}, "do_not_retry_for", region.ErrBadArgument},
		{memcache.NameDogpilePymemcache, region.Arguments{"url": url, "retry_attempts": 3}, "enable_retry_client", region.ErrBadArgument},
		{memcache.NameDogpilePymemcache, region.Arguments{"url": url, "enable_retry_client": true}, "retry_attempts", region.ErrBadArgument},
		{memcache.NameDogpilePymemcache, region.Arguments{"url": url, "tls_context": "ctx"}, "*tls.Config", region.ErrBadArgument},
		{memcache.NameDogpilePymemcache, region.Arguments{"url": url, "socket_keepalive": 5}, "KeepAliveConfig", region.ErrBadArgument},
		{memcache.NameDogpilePymemcache, region.Arguments{"url": url, "min_compress_len": 5}, "min_compress_len", region.ErrBadArgument},
		{memcache.NameDogpileMemcached, region.Arguments{"url": "[::1]:11211"}, "inet6:", region.ErrBadArgument},
		{memcache.NameDogpileMemcached, region.Arguments{}, "url", memcache.ErrNoServers},
		{memcache.NameDogpileMemcached, region.Arguments{"url": url, "lock_timeout": 0.5}, "lock_timeout", region.ErrBadArgument},
		{memcache.NameDogpilePymemcache, region.Arguments{"url": url, "lock_timeout": "2.5"}, "whole number of seconds", region.ErrBadArgument},
		{memcache.NameOsloMemcachePool, region.Arguments{"url": url, "memcached_expire_time": 1.5}, "memcached_expire_time", region.ErrBadArgument},
		{memcache.NameDogpilePylibmc, region.Arguments{"url": url}, "libmemcached", memcache.ErrUnsupportedBackend},
		{memcache.NameDogpileBmemcached, region.Arguments{"url": url}, "binary protocol", memcache.ErrUnsupportedBackend},
	}
	for _, c := range cases {
		_, err := region.NewBackend(c.name, c.args)
		if err == nil || !errors.Is(err, c.is) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s %v: err = %v; want %v mentioning %q", c.name, c.args, err, c.is, c.want)
		}
	}
	// Arguments known but refused name themselves and their backend.
	for name, c := range map[string]struct {
		backend string
		args    region.Arguments
	}{
		"sasl_enabled": {memcache.NameDogpileMemcached, region.Arguments{"url": url, "sasl_enabled": true}},
		"password":     {memcache.NameOsloMemcachePool, region.Arguments{"url": url, "password": "p"}},
		"serde":        {memcache.NameDogpilePymemcache, region.Arguments{"url": url, "serde": "x"}},
	} {
		_, err := region.NewBackend(c.backend, c.args)
		re, ok := errors.AsType[*region.RefusedArgumentError](err)
		if !ok || re.Name != name || re.Backend != c.backend {
			t.Errorf("%s: err = %#v; want a RefusedArgumentError naming %s of %s", name, err, name, c.backend)
		}
	}
}

func TestPymemcacheTLSAndKeepAliveAccepted(t *testing.T) {
	for _, ka := range []any{net.KeepAliveConfig{Enable: true, Idle: time.Second}, &net.KeepAliveConfig{Enable: true}} {
		o, err := memcache.DogpilePymemcacheOptions(region.Arguments{"url": "127.0.0.1:11211", "tls_context": &tls.Config{ServerName: "m"}, "socket_keepalive": ka})
		if err != nil || o.TLSConfig == nil || o.TLSConfig.ServerName != "m" || o.KeepAlive == nil || !o.KeepAlive.Enable {
			t.Fatalf("%T: %+v, %v", ka, o, err)
		}
		if _, err := memcache.NewPython(o); err != nil {
			t.Fatal(err)
		}
	}
}

func TestWeightedURLs(t *testing.T) {
	o, err := memcache.DogpileMemcachedOptions(region.Arguments{"url": []any{"127.0.0.1:1", []any{"127.0.0.1:2", 3}, memcache.WeightedServer{Addr: "127.0.0.1:3", Weight: 2}}})
	if err != nil {
		t.Fatal(err)
	}
	b, err := memcache.NewPython(o)
	if err != nil {
		t.Fatal(err)
	}
	if n := b.Selector().(*memcache.PythonMemcacheSelector).Buckets(); n != 6 {
		t.Fatalf("buckets = %d, want 6", n)
	}
	if _, err := memcache.DogpilePymemcacheOptions(region.Arguments{"url": []any{[]any{"127.0.0.1:2", 3}}}); err != nil {
		t.Fatal(err) // accepted here; NewPython refuses weights for pymemcache
	}
	o.Client = memcache.Pymemcache
	if _, err := memcache.NewPython(o); !errors.Is(err, region.ErrBadArgument) {
		t.Fatalf("pymemcache with weights: %v", err)
	}
}

// TestKeyRules: each name checks keys as its Python client does before
// anything is sent.
func TestKeyRules(t *testing.T) {
	pm, err := memcache.NewPython(memcache.PythonOptions{Servers: []memcache.WeightedServer{{Addr: "127.0.0.1:1", Weight: 1}}})
	if err != nil {
		t.Fatal(err)
	}
	hc, err := memcache.NewPython(memcache.PythonOptions{Client: memcache.Pymemcache, Servers: []memcache.WeightedServer{{Addr: "127.0.0.1:1", Weight: 1}}})
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	for _, c := range []struct {
		key  string
		pmOK bool // python-memcached accepts it
		hcOK bool // pymemcache accepts it
	}{
		{"clé", true, false},
		{"a b", false, false},
		{"a\x01b", false, false},
		{"", false, false},
		{strings.Repeat("k", 251), false, false},
	} {
		for _, b := range []struct {
			b  *memcache.PythonBackend
			ok bool
		}{{pm, c.pmOK}, {hc, c.hcOK}} {
			_, _, err := b.b.Get(ctx, c.key)
			if got := !errors.Is(err, memcache.ErrInvalidKey); got != b.ok {
				t.Errorf("%s: key %q: err = %v, want accepted %v", b.b.Options().Client, c.key, err, b.ok)
			}
		}
	}
}

// TestNewPythonNamesTheNegativeArgument: a negative lifetime or
// compression threshold is refused, naming that argument and its value
// only.
func TestNewPythonNamesTheNegativeArgument(t *testing.T) {
	servers := []memcache.WeightedServer{{Addr: "127.0.0.1:11211", Weight: 1}}
	for _, c := range []struct {
		opts  memcache.PythonOptions
		name  string
		value string
	}{
		{memcache.PythonOptions{Servers: servers, LockTimeout: -time.Second}, "lock_timeout", "-1s"},
		{memcache.PythonOptions{Servers: servers, ExpireTime: -2 * time.Second}, "memcached_expire_time", "-2s"},
		{memcache.PythonOptions{Servers: servers, MinCompressLen: -3}, "min_compress_len", "-3"},
	} {
		_, err := memcache.NewPython(c.opts)
		var ae *region.ArgumentError
		if !errors.As(err, &ae) || ae.Name != c.name || !strings.Contains(err.Error(), c.value) {
			t.Errorf("%s: err = %v; want an ArgumentError naming %s and %s", c.name, err, c.name, c.value)
		}
	}
}
