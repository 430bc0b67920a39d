package gocache_test

import (
	"context"
	"crypto/rand"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"go.uber.org/goleak"

	"github.com/dogpile-go/dogpile/region"
)

// Environment variables naming the test servers (set by
// scripts/test-services.sh).
const (
	envMemcached = "DOGPILE_MEMCACHED" // comma-separated host:port list
	envRedis     = "DOGPILE_REDIS"     // host:port
	envRedisBin  = "DOGPILE_REDIS_BIN" // redis-server binary
)

const startServersHint = "start them with: scripts/test-services.sh go test -race ./backends/gocache/ (or make test)"

func TestMain(m *testing.M) {
	if role := os.Getenv(envChildRole); role != "" {
		// A child process of the cross-process tests (see child_test.go).
		os.Exit(runChild(role))
	}
	goleak.VerifyTestMain(m)
}

// serverAddrs returns the addresses in the environment variable name. When
// it is unset the test is skipped, or fails when CI=true. Addresses that
// are not loopback fail the test: the tests write to (and flush nothing on)
// these servers.
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
		if a = strings.TrimSpace(a); a == "" {
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

func redisAddr(t testing.TB) string { t.Helper(); return serverAddrs(t, envRedis)[0] }

func memcachedAddrs(t testing.TB) []string { t.Helper(); return serverAddrs(t, envMemcached) }

// newRedisClient returns a plain go-redis client for the test server.
func newRedisClient(t testing.TB) *redis.Client {
	t.Helper()
	c := redis.NewClient(&redis.Options{Addr: redisAddr(t), ReadTimeout: 5 * time.Second, WriteTimeout: 5 * time.Second})
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// uniqueKey returns a key no other test (or run) uses, legal for memcached.
func uniqueKey(t testing.TB, name string) string {
	t.Helper()
	tn := strings.Map(func(r rune) rune {
		if r > ' ' && r < 0x7f {
			return r
		}
		return '_'
	}, t.Name())
	if len(tn) > 120 {
		tn = tn[:120]
	}
	return "gocache-test:" + tn + ":" + name + ":" + rand.Text()
}

// newRegion configures a region on backend, closed when the test ends.
func newRegion(t testing.TB, backend string, args region.Arguments, opts ...region.ConfigOption) *region.Region {
	t.Helper()
	return newRegionWith(t, nil, backend, args, opts...)
}

// newRegionWith is newRegion with region options.
func newRegionWith(t testing.TB, ropts []region.Option, backend string, args region.Arguments, opts ...region.ConfigOption) *region.Region {
	t.Helper()
	r := region.New(t.Name(), ropts...)
	if err := r.Configure(backend, append([]region.ConfigOption{region.WithArguments(args)}, opts...)...); err != nil {
		t.Fatalf("Configure(%q): %v", backend, err)
	}
	t.Cleanup(func() { _ = r.Close() })
	return r
}

func testCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}
