package redis_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	redisbackend "github.com/dogpile-go/dogpile/backends/redis"
	"github.com/dogpile-go/dogpile/region"
)

// build builds a backend without connecting (go-redis connects lazily) and
// returns its store, closed when the test ends.
func build(t *testing.T, backend string, args region.Arguments) (*redisbackend.Store, error) {
	t.Helper()
	b, err := region.NewBackend(backend, args)
	if err != nil {
		return nil, err
	}
	s, ok := region.BackendAs[*redisbackend.Store](b)
	if !ok {
		t.Fatalf("%s built a %T, not over a *redis.Store", backend, b)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s, nil
}

func TestArgumentsAccepted(t *testing.T) {
	tests := []struct {
		name    string
		backend string
		args    region.Arguments
		check   func(t *testing.T, s *redisbackend.Store)
	}{
		{"defaults", redisbackend.Name, nil, func(t *testing.T, s *redisbackend.Store) {
			o := s.Client().(*goredis.Client).Options()
			if o.Addr != "localhost:6379" || o.DB != 0 || o.ReadTimeout != 0 || o.MaxRetries > 0 {
				t.Errorf("Addr, DB, ReadTimeout, MaxRetries = %q, %d, %v, %d; want localhost:6379, 0, none, no retries", o.Addr, o.DB, o.ReadTimeout, o.MaxRetries)
			}
			if s.GetMutex("k") != nil {
				t.Error("distributed_lock is on by default; dogpile.cache.redis's default is False")
			}
			if s.Expiration() != 0 {
				t.Error("values expire by default")
			}
		}},
		{"config-file strings", redisbackend.Name, region.Arguments{
			"host": "127.0.0.1", "port": "6380", "db": "2", "username": "u", "password": "0123",
			"socket_timeout": "1.5", "socket_connect_timeout": "0.25", "redis_expiration_time": "600",
			"distributed_lock": "true", "lock_timeout": "30", "lock_sleep": "0.05", "lock_blocking_timeout": "2",
			"thread_local_lock": "false", "lock_blocking": "false", "socket_keepalive": "true",
		}, func(t *testing.T, s *redisbackend.Store) {
			o := s.Client().(*goredis.Client).Options()
			if o.Addr != "127.0.0.1:6380" || o.DB != 2 || o.Username != "u" || o.Password != "0123" ||
				o.ReadTimeout != 1500*time.Millisecond || o.WriteTimeout != 1500*time.Millisecond || o.DialTimeout != 250*time.Millisecond {
				t.Errorf("options = %+v", o)
			}
			if s.Expiration() != 10*time.Minute {
				t.Errorf("Expiration = %v; want 10m", s.Expiration())
			}
			m, ok := s.GetMutex("k").(interface{ LockTimeout() time.Duration })
			if !ok || m.LockTimeout() != 30*time.Second {
				t.Errorf("GetMutex = %#v; want a lock with a 30s timeout", s.GetMutex("k"))
			}
		}},
		{"url", redisbackend.Name, region.Arguments{"url": "redis://us%3Aer:p%40ss@10.1.2.3:1234/3?socket_timeout=2.5&client_name=svc"}, func(t *testing.T, s *redisbackend.Store) {
			o := s.Client().(*goredis.Client).Options()
			if o.Addr != "10.1.2.3:1234" || o.DB != 3 || o.Username != "us:er" || o.Password != "p@ss" || o.ReadTimeout != 2500*time.Millisecond || o.ClientName != "svc" {
				t.Errorf("options = %+v", o)
			}
		}},
		{"url with connection_kwargs", redisbackend.Name, region.Arguments{"url": "redis://h:1", "socket_timeout": 1.0,
			"connection_kwargs": map[string]any{"db": 6, "password": "p", "username": "u"}}, func(t *testing.T, s *redisbackend.Store) {
			// redis-py's from_url takes connection_kwargs under the url.
			o := s.Client().(*goredis.Client).Options()
			if o.Addr != "h:1" || o.DB != 6 || o.Password != "p" || o.Username != "u" || o.ReadTimeout != time.Second {
				t.Errorf("options = %+v", o)
			}
		}},
		{"unix url", redisbackend.Name, region.Arguments{"url": "unix:///run/redis/redis.sock?db=4"}, func(t *testing.T, s *redisbackend.Store) {
			o := s.Client().(*goredis.Client).Options()
			if o.Network != "unix" || o.Addr != "/run/redis/redis.sock" || o.DB != 4 {
				t.Errorf("Network, Addr, DB = %q, %q, %d", o.Network, o.Addr, o.DB)
			}
		}},
		{"connection_kwargs", redisbackend.Name, region.Arguments{
			"socket_timeout":    2,
			"connection_kwargs": map[string]any{"socket_timeout": 2.0, "client_name": "svc", "max_connections": 7, "encoding": "utf-8"},
		}, func(t *testing.T, s *redisbackend.Store) {
			o := s.Client().(*goredis.Client).Options()
			if o.ReadTimeout != 2*time.Second || o.ClientName != "svc" || o.PoolSize != 7 {
				t.Errorf("ReadTimeout, ClientName, PoolSize = %v, %q, %d", o.ReadTimeout, o.ClientName, o.PoolSize)
			}
		}},
		{"connection_kwargs as JSON", redisbackend.Name, region.Arguments{"connection_kwargs": `{"client_name": "svc", "max_connections": 5}`}, func(t *testing.T, s *redisbackend.Store) {
			if o := s.Client().(*goredis.Client).Options(); o.ClientName != "svc" || o.PoolSize != 5 {
				t.Errorf("ClientName, PoolSize = %q, %d; want svc, 5", o.ClientName, o.PoolSize)
			}
		}},
		{"sentinels from a config file", redisbackend.SentinelName, region.Arguments{"sentinels": "127.0.0.1:26379, 127.0.0.2:26380", "password": "pw"}, func(t *testing.T, s *redisbackend.Store) {
			if s.GetMutex("k") == nil {
				t.Error("distributed_lock is off; dogpile.cache.redis_sentinel's default is True")
			}
			o := s.Client().(*goredis.Client).Options()
			if o.Password != "pw" {
				t.Errorf("Password = %q", o.Password)
			}
		}},
		{"sentinels as pairs", redisbackend.SentinelName, region.Arguments{
			"sentinels": []any{[]any{"127.0.0.1", 26379}, []any{"127.0.0.2", "26380"}}, "service_name": "cache",
			"distributed_lock": false, "sentinel_kwargs": map[string]any{"password": "sentinel-pw", "socket_timeout": 1}, "socket_timeout": 1,
		}, func(t *testing.T, s *redisbackend.Store) {
			if s.GetMutex("k") != nil {
				t.Error("distributed_lock=false ignored")
			}
		}},
		{"cluster url list", redisbackend.ClusterName, region.Arguments{"url": "redis://127.0.0.1:7000,redis://127.0.0.1:7001"}, func(t *testing.T, s *redisbackend.Store) {
			o := s.Client().(*goredis.ClusterClient).Options()
			if strings.Join(o.Addrs, ",") != "127.0.0.1:7000,127.0.0.1:7001" {
				t.Errorf("Addrs = %v", o.Addrs)
			}
		}},
		{"cluster startup_nodes", redisbackend.ClusterName, region.Arguments{
			"startup_nodes":     []any{map[string]any{"host": "127.0.0.1", "port": 7000}, "127.0.0.1:7001"},
			"connection_kwargs": map[string]any{"username": "admin", "password": "pw", "read_from_replicas": true},
		}, func(t *testing.T, s *redisbackend.Store) {
			o := s.Client().(*goredis.ClusterClient).Options()
			if strings.Join(o.Addrs, ",") != "127.0.0.1:7000,127.0.0.1:7001" || o.Username != "admin" || o.Password != "pw" || !o.ReadOnly {
				t.Errorf("options = %+v", o)
			}
		}},
		{"cluster host and port", redisbackend.ClusterName, region.Arguments{"host": "127.0.0.1", "port": 7005}, func(t *testing.T, s *redisbackend.Store) {
			if a := s.Client().(*goredis.ClusterClient).Options().Addrs; len(a) != 1 || a[0] != "127.0.0.1:7005" {
				t.Errorf("Addrs = %v", a)
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := build(t, tc.backend, tc.args)
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, s)
		})
	}
}

// A client of the program's own is used as it is and left open.
func TestArgumentClient(t *testing.T) {
	c := goredis.NewClient(&goredis.Options{Addr: "127.0.0.1:1"})
	defer c.Close()
	s, err := build(t, redisbackend.Name, region.Arguments{"client": c, "distributed_lock": true})
	if err != nil {
		t.Fatal(err)
	}
	if s.Client() != c {
		t.Fatal("the backend does not use the client given")
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := c.Ping(context.Background()).Err(); err != nil && strings.Contains(err.Error(), "closed") {
		t.Fatal("closing the backend closed the program's client")
	}
}

func TestArgumentsRefused(t *testing.T) {
	client := goredis.NewClient(&goredis.Options{Addr: "127.0.0.1:1"})
	defer client.Close()
	tests := []struct {
		name    string
		backend string
		args    region.Arguments
		want    []string // substrings of the message
	}{
		{"misspelt", redisbackend.Name, region.Arguments{"hostt": "x"}, []string{`"hostt"`, `did you mean "host"`}},
		{"another backend's argument", redisbackend.Name, region.Arguments{"sentinels": "a:1"}, []string{`"sentinels"`}},
		{"connection_pool", redisbackend.Name, region.Arguments{"connection_pool": "pool"}, []string{"connection_pool", "Python object", `"client"`}},
		{"Python object in connection_kwargs", redisbackend.Name, region.Arguments{"connection_kwargs": map[string]any{"retry": "Retry()"}}, []string{"connection_kwargs.retry", "Python object"}},
		{"ssl_context", redisbackend.Name, region.Arguments{"connection_kwargs": map[string]any{"ssl_context": "ctx"}}, []string{"connection_kwargs.ssl_context", "ssl_certfile"}},
		{"misspelt kwarg", redisbackend.Name, region.Arguments{"connection_kwargs": map[string]any{"socket_timout": 1}}, []string{"connection_kwargs", `"socket_timout"`, `did you mean "socket_timeout"`}},
		{"given twice", redisbackend.Name, region.Arguments{"socket_timeout": 2, "connection_kwargs": map[string]any{"socket_timeout": 1}}, []string{"socket_timeout", "one value"}},
		{"url and host", redisbackend.Name, region.Arguments{"url": "redis://h:1", "host": "h"}, []string{`"host"`, "url"}},
		{"url and a different db", redisbackend.Name, region.Arguments{"url": "redis://h:1/2", "connection_kwargs": map[string]any{"db": 3}}, []string{"db", "one value"}},
		{"url and a different password", redisbackend.Name, region.Arguments{"url": "redis://:a@h:1/2", "connection_kwargs": map[string]any{"password": "b"}}, []string{"password", "one value"}},
		// dogpile.cache drops these next to url, and connection_kwargs'
		// own without one (see TestDatabaseAsPython).
		{"url and db", redisbackend.Name, region.Arguments{"url": "redis://h:1", "db": 3}, []string{`"db"`, "ignores it next to url"}},
		{"url and password", redisbackend.Name, region.Arguments{"url": "redis://h:1/0", "password": "p"}, []string{`"password"`, "ignores it next to url"}},
		{"url and username", redisbackend.Name, region.Arguments{"url": "redis://h:1/0", "username": "u"}, []string{`"username"`, "ignores it next to url"}},
		{"connection_kwargs db", redisbackend.Name, region.Arguments{"connection_kwargs": map[string]any{"db": 5}}, []string{"connection_kwargs.db", "overrides it"}},
		{"connection_kwargs password", redisbackend.Name, region.Arguments{"password": "p", "connection_kwargs": map[string]any{"password": "p"}}, []string{"connection_kwargs.password", "overrides it"}},
		{"connection_kwargs username", redisbackend.Name, region.Arguments{"connection_kwargs": map[string]any{"username": "u"}}, []string{"connection_kwargs.username", "url"}},
		{"url and connection_kwargs port", redisbackend.Name, region.Arguments{"url": "redis://h:1", "connection_kwargs": map[string]any{"port": 2}}, []string{"connection_kwargs.port", "put it in the url"}},
		{"connection_kwargs host", redisbackend.Name, region.Arguments{"connection_kwargs": map[string]any{"host": "h"}}, []string{"connection_kwargs.host", "overrides it"}},
		{"url readonly", redisbackend.Name, region.Arguments{"url": "redis://h:1/0?readonly=true"}, []string{`"url"`, "readonly=true", redisbackend.ClusterName}},
		{"url read_from_replicas", redisbackend.Name, region.Arguments{"url": "redis://h:1/0?read_from_replicas=1"}, []string{`"url"`, "read_from_replicas=1", redisbackend.ClusterName}},
		{"url scheme", redisbackend.Name, region.Arguments{"url": "http://h:1"}, []string{`"url"`, "redis://"}},
		{"url query", redisbackend.Name, region.Arguments{"url": "redis://h:1?read_timeout=3"}, []string{`"read_timeout"`}},
		{"url db", redisbackend.Name, region.Arguments{"url": "redis://h:1/x"}, []string{"database number"}},
		{"fractional SETEX", redisbackend.Name, region.Arguments{"redis_expiration_time": 1.5}, []string{"redis_expiration_time", "whole number of seconds"}},
		{"lock_sleep", redisbackend.Name, region.Arguments{"lock_sleep": 0}, []string{"lock_sleep", "positive"}},
		{"bad port", redisbackend.Name, region.Arguments{"port": 70000}, []string{"port"}},
		{"bad bool", redisbackend.Name, region.Arguments{"distributed_lock": "maybe"}, []string{"distributed_lock"}},
		{"decode_responses", redisbackend.Name, region.Arguments{"connection_kwargs": map[string]any{"decode_responses": true}}, []string{"decode_responses", "bytes"}},
		{"retry_on_timeout", redisbackend.Name, region.Arguments{"connection_kwargs": map[string]any{"retry_on_timeout": true}}, []string{"retry_on_timeout"}},
		{"encoding", redisbackend.Name, region.Arguments{"connection_kwargs": map[string]any{"encoding": "latin-1"}}, []string{"encoding", "utf-8"}},
		{"ssl files without ssl", redisbackend.Name, region.Arguments{"connection_kwargs": map[string]any{"ssl_ca_certs": "/x.pem"}}, []string{"ssl_ca_certs", "ssl=true"}},
		{"ssl_ciphers without ssl", redisbackend.Name, region.Arguments{"connection_kwargs": map[string]any{"ssl_ciphers": "HIGH"}}, []string{"ssl_ciphers", "ssl=true"}},
		{"bad ssl_ciphers", redisbackend.Name, region.Arguments{"ssl": true, "connection_kwargs": map[string]any{"ssl_ciphers": "HIGH:NOPE"}}, []string{"connection_kwargs.ssl_ciphers", `"NOPE"`}},
		{"missing CA file", redisbackend.Name, region.Arguments{"ssl": true, "connection_kwargs": map[string]any{"ssl_ca_certs": "/nonexistent.pem"}}, []string{"ssl_ca_certs", "readable"}},
		{"keepalive option", redisbackend.Name, region.Arguments{"socket_keepalive": true, "socket_keepalive_options": map[string]any{"TCP_NODELAY": 1}}, []string{"socket_keepalive_options", "TCP_NODELAY"}},
		{"client type", redisbackend.Name, region.Arguments{"client": "redis://h:1"}, []string{`"client"`, "go-redis client"}},
		{"nil client", redisbackend.Name, region.Arguments{"client": (*goredis.Client)(nil)}, []string{`"client"`, "go-redis client"}},
		{"client and host", redisbackend.Name, region.Arguments{"client": client, "host": "h"}, []string{`"host"`, "client"}},
		{"no sentinels", redisbackend.SentinelName, region.Arguments{"service_name": "m"}, []string{`"sentinels"`, "at least one"}},
		{"sentinel url", redisbackend.SentinelName, region.Arguments{"sentinels": "a:1", "url": "redis://h:1"}, []string{`"url"`, "sentinels"}},
		{"bad sentinel", redisbackend.SentinelName, region.Arguments{"sentinels": "a:b"}, []string{`"sentinels"`}},
		{"sentinel timeout", redisbackend.SentinelName, region.Arguments{"sentinels": "a:1", "socket_timeout": 1, "sentinel_kwargs": map[string]any{"socket_timeout": 0.5}}, []string{"sentinel_kwargs.socket_timeout", "one socket_timeout"}},
		{"misspelt sentinel kwarg", redisbackend.SentinelName, region.Arguments{"sentinels": "a:1", "sentinel_kwargs": map[string]any{"pasword": "x"}}, []string{"sentinel_kwargs", `did you mean "password"`}},
		{"no cluster nodes", redisbackend.ClusterName, nil, []string{"startup_nodes", "url"}},
		{"cluster db", redisbackend.ClusterName, region.Arguments{"url": "redis://h:1/1"}, []string{"database 0"}},
		{"cluster unix url", redisbackend.ClusterName, region.Arguments{"url": "unix:///x.sock"}, []string{`"url"`, "cluster nodes"}},
		{"cluster url and host", redisbackend.ClusterName, region.Arguments{"url": "redis://h:1", "host": "h"}, []string{`"host"`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := build(t, tc.backend, tc.args)
			if err == nil {
				t.Fatalf("%s accepted %v", tc.backend, tc.args)
			}
			if !errors.Is(err, region.ErrBadArgument) {
				t.Errorf("error %q does not match region.ErrBadArgument", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
		})
	}
}

// A refused argument is a *region.RefusedArgumentError naming the backend
// and the argument, the error every backend of this module refuses with.
func TestRefusedArgumentError(t *testing.T) {
	_, err := build(t, redisbackend.SentinelName, region.Arguments{"sentinels": "a:1", "connection_kwargs": map[string]any{"retry": "Retry()"}})
	var re *region.RefusedArgumentError
	if !errors.As(err, &re) || re.Backend != redisbackend.SentinelName || re.Name != "connection_kwargs.retry" || !strings.Contains(re.Reason, "Python object") {
		t.Fatalf("err = %#v; want a *region.RefusedArgumentError for %s, connection_kwargs.retry", err, redisbackend.SentinelName)
	}
	if !strings.HasPrefix(err.Error(), `backend "dogpile.cache.redis_sentinel": argument "connection_kwargs.retry" refused: `) {
		t.Errorf("message %q", err)
	}
}
