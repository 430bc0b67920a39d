package lockmutex

import (
	"crypto/rand"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/bradfitz/gomemcache/memcache"
	"github.com/redis/go-redis/v9"
)

// Environment variables naming the test servers (set by
// scripts/test-services.sh).
const (
	envMemcached = "DOGPILE_MEMCACHED" // comma-separated host:port list
	envRedis     = "DOGPILE_REDIS"     // host:port
)

const startServersHint = "start them with: scripts/test-services.sh go test ./lockmutex/ (or make test)"

// serverAddrs returns the addresses in the environment variable name. When
// it is unset the test is skipped, or fails when CI=true. Addresses that are
// not loopback fail the test: these tests write to the servers.
func serverAddrs(t testing.TB, name string) []string {
	t.Helper()
	v := strings.TrimSpace(os.Getenv(name))
	if v == "" {
		msg := name + " is not set, so there is no server to test against; " + startServersHint
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	var addrs []string
	for a := range strings.SplitSeq(v, ",") {
		a = strings.TrimSpace(a)
		if a == "" {
			continue
		}
		if !isLoopback(a) {
			t.Fatalf("%s: %q is not a loopback address; the tests only talk to servers on this machine", name, a)
		}
		addrs = append(addrs, a)
	}
	if len(addrs) == 0 {
		t.Fatalf("%s=%q names no server", name, v)
	}
	return addrs
}

// isLoopback reports whether hostport is host:port with a loopback host.
func isLoopback(hostport string) bool {
	host, _, err := net.SplitHostPort(hostport)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// memcachedServers returns the test memcached servers (see serverAddrs).
func memcachedServers(t testing.TB) []string {
	t.Helper()
	return serverAddrs(t, envMemcached)
}

// redisServer returns the test redis server (see serverAddrs).
func redisServer(t testing.TB) string {
	t.Helper()
	return serverAddrs(t, envRedis)[0]
}

// newMemcachedClient returns a client for the test memcached servers.
func newMemcachedClient(t testing.TB) *memcache.Client {
	t.Helper()
	c := memcache.New(memcachedServers(t)...)
	c.Timeout = 5 * time.Second // a loaded test machine can be slow
	c.MaxIdleConns = 20
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// newRedisClient returns a client for the test redis server.
func newRedisClient(t testing.TB) *redis.Client {
	t.Helper()
	c := redis.NewClient(&redis.Options{Addr: redisServer(t), ReadTimeout: 5 * time.Second, WriteTimeout: 5 * time.Second})
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// uniqueKey returns a key no other test (or test run) uses: the test name
// made safe for memcached plus a random suffix.
func uniqueKey(t testing.TB) string {
	t.Helper()
	name := strings.Map(func(r rune) rune {
		if r > ' ' && r < 0x7f && r != '/' {
			return r
		}
		return '_'
	}, t.Name())
	if len(name) > 150 {
		name = name[:150]
	}
	return "test:" + name + ":" + rand.Text()
}

// closedLoopbackAddr returns a loopback address where nothing listens.
func closedLoopbackAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	return addr
}
