// Package testservers is for this module's tests only: it finds the
// memcached and Redis servers that scripts/test-services.sh starts (make
// test), starts private server processes for fault tests, makes unique test
// keys and re-executes the test binary as a child process.
//
// The shared servers are named by environment variables:
//
//	DOGPILE_MEMCACHED               comma-separated host:port list
//	DOGPILE_REDIS                   host:port
//	DOGPILE_REDIS_CLUSTER           the Redis Cluster's nodes, host:port list
//	DOGPILE_REDIS_SENTINELS         the Sentinels, host:port list
//	DOGPILE_REDIS_SENTINEL_SERVICE  the name the Sentinels know the master by
//	DOGPILE_REDIS_SENTINEL_MASTER   the master the Sentinel set started with
//	                                (optional)
//	DOGPILE_REDIS_SENTINEL_REPLICA  its replica (optional)
//	DOGPILE_MEMCACHED_BIN           memcached binary (for private servers)
//	DOGPILE_REDIS_BIN               redis-server binary (for private servers)
//
// Without them a test that needs a server is skipped with a hint on how to
// start them, or fails when CI=true. Addresses that are not loopback fail
// the test: the tests write to these servers and must only ever talk to
// servers on this machine.
package testservers

import (
	"crypto/rand"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/dogpile-go/dogpile/internal/testenv"
)

// Environment variables naming the test servers (set by
// scripts/test-services.sh).
const (
	EnvMemcached    = "DOGPILE_MEMCACHED"     // comma-separated host:port list
	EnvRedis        = "DOGPILE_REDIS"         // host:port
	EnvMemcachedBin = "DOGPILE_MEMCACHED_BIN" // memcached binary
	EnvRedisBin     = "DOGPILE_REDIS_BIN"     // redis-server binary

	EnvRedisCluster         = "DOGPILE_REDIS_CLUSTER"          // cluster nodes, host:port list
	EnvRedisSentinels       = "DOGPILE_REDIS_SENTINELS"        // Sentinels, host:port list
	EnvRedisSentinelService = "DOGPILE_REDIS_SENTINEL_SERVICE" // the monitored master's name
	EnvRedisSentinelMaster  = "DOGPILE_REDIS_SENTINEL_MASTER"  // its first master, host:port
	EnvRedisSentinelReplica = "DOGPILE_REDIS_SENTINEL_REPLICA" // its replica, host:port
)

// errNotSet is returned by addrsFromEnv when the variable is empty.
var errNotSet = errors.New("not set")

// Memcached returns the test memcached servers (DOGPILE_MEMCACHED). When
// the variable is unset the test is skipped, or fails when CI=true; an
// address that is not loopback fails the test.
func Memcached(t testing.TB) []string {
	t.Helper()
	return serverAddrs(t, EnvMemcached)
}

// MemcachedN returns the first n test memcached servers, skipping the test
// (failing it when CI=true) when fewer are configured.
func MemcachedN(t testing.TB, n int) []string {
	t.Helper()
	s := Memcached(t)
	if len(s) < n {
		testenv.SkipOrFail(t, fmt.Sprintf("%s has %d servers, this test needs %d; %s", EnvMemcached, len(s), n, hint()))
	}
	return s[:n]
}

// Redis returns the test Redis server (DOGPILE_REDIS), like Memcached.
func Redis(t testing.TB) string {
	t.Helper()
	return serverAddrs(t, EnvRedis)[0]
}

// RedisCluster returns the nodes of the test Redis Cluster
// (DOGPILE_REDIS_CLUSTER), like Memcached: three masters that share the
// hash slots.
func RedisCluster(t testing.TB) []string {
	t.Helper()
	return serverAddrs(t, EnvRedisCluster)
}

// SentinelSet is a Redis master with a replica, watched by Sentinels.
type SentinelSet struct {
	// Sentinels are the Sentinels' addresses.
	Sentinels []string
	// Service is the name the Sentinels know the master by.
	Service string
	// Master and Replica are the servers' addresses when the set started;
	// after a failover the Sentinels name the other one as master. Always
	// set for a private set (StartRedisSentinel); for the shared set
	// (RedisSentinel) only when DOGPILE_REDIS_SENTINEL_MASTER and
	// DOGPILE_REDIS_SENTINEL_REPLICA are set (ask CurrentMaster instead).
	Master, Replica string
}

// RedisSentinel returns the test Sentinel set (DOGPILE_REDIS_SENTINELS and
// DOGPILE_REDIS_SENTINEL_SERVICE), like Memcached. It is shared by every
// test package: tests that kill its master or make it fail over start a
// private set instead (StartRedisSentinel). Master and Replica are filled
// from their variables when these are set, and left empty otherwise: the
// Sentinels name the master.
func RedisSentinel(t testing.TB) SentinelSet {
	t.Helper()
	set := SentinelSet{Sentinels: serverAddrs(t, EnvRedisSentinels)}
	set.Service = strings.TrimSpace(os.Getenv(EnvRedisSentinelService))
	if set.Service == "" {
		testenv.SkipOrFail(t, EnvRedisSentinelService+" is not set; "+hint())
	}
	for _, v := range []struct {
		env  string
		addr *string
	}{{EnvRedisSentinelMaster, &set.Master}, {EnvRedisSentinelReplica, &set.Replica}} {
		addrs, err := addrsFromEnv(v.env)
		switch {
		case errors.Is(err, errNotSet):
		case err != nil:
			t.Fatal(err)
		default:
			*v.addr = addrs[0]
		}
	}
	return set
}

// MemcachedAddrs returns the memcached servers in DOGPILE_MEMCACHED, for a
// child process (which has no testing.TB): an error when the variable is
// unset or names an address that is not loopback.
func MemcachedAddrs() ([]string, error) {
	addrs, err := addrsFromEnv(EnvMemcached)
	if errors.Is(err, errNotSet) {
		return nil, fmt.Errorf("%s is not set", EnvMemcached)
	}
	return addrs, err
}

// RedisAddr returns the Redis server in DOGPILE_REDIS, for a child process,
// like MemcachedAddrs.
func RedisAddr() (string, error) {
	addrs, err := addrsFromEnv(EnvRedis)
	if errors.Is(err, errNotSet) {
		return "", fmt.Errorf("%s is not set", EnvRedis)
	}
	if err != nil {
		return "", err
	}
	return addrs[0], nil
}

// MemcachedEnv returns the environment entry DOGPILE_MEMCACHED=addrs, for
// a child process (see Child).
func MemcachedEnv(addrs []string) string {
	return EnvMemcached + "=" + strings.Join(addrs, ",")
}

// serverAddrs returns the addresses in the environment variable name,
// skipping or failing the test as Memcached describes.
func serverAddrs(t testing.TB, name string) []string {
	t.Helper()
	addrs, err := addrsFromEnv(name)
	if errors.Is(err, errNotSet) {
		testenv.SkipOrFail(t, name+" is not set, so there is no server to test against; "+hint())
	}
	if err != nil {
		t.Fatal(err)
	}
	return addrs
}

// addrsFromEnv parses the comma-separated host:port list in the
// environment variable name: errNotSet when it is empty, an error when an
// address is not loopback or none is named.
func addrsFromEnv(name string) ([]string, error) {
	v := strings.TrimSpace(os.Getenv(name))
	if v == "" {
		return nil, errNotSet
	}
	var addrs []string
	for a := range strings.SplitSeq(v, ",") {
		if a = strings.TrimSpace(a); a == "" {
			continue
		}
		if !IsLoopback(a) {
			return nil, fmt.Errorf("%s: %q is not a loopback address; the tests only talk to servers on this machine", name, a)
		}
		addrs = append(addrs, a)
	}
	if len(addrs) == 0 {
		return nil, fmt.Errorf("%s=%q names no server", name, v)
	}
	return addrs, nil
}

// IsLoopback reports whether hostport is host:port with a loopback host
// (localhost, 127.0.0.0/8 or ::1).
func IsLoopback(hostport string) bool {
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

// ClosedAddr returns a loopback address where nothing listens (a port that
// was free a moment ago).
func ClosedAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("find a free port: %v", err)
	}
	addr := l.Addr().String()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	return addr
}

// RedisClient returns a go-redis client for the test Redis server (see
// Redis), closed when the test ends.
func RedisClient(t testing.TB) *redis.Client {
	t.Helper()
	c := redis.NewClient(&redis.Options{Addr: Redis(t), ReadTimeout: 5 * time.Second, WriteTimeout: 5 * time.Second})
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// UniqueKey returns a key no other test (or test run) uses, legal for
// memcached: "test:<test name>:<random>:<name>". UniqueKey(t, "") ends in
// ":" and serves as a prefix for several keys.
func UniqueKey(t testing.TB, name string) string {
	t.Helper()
	tn := strings.Map(func(r rune) rune {
		if r > ' ' && r < 0x7f && r != '/' {
			return r
		}
		return '_'
	}, t.Name())
	if len(tn) > 120 {
		tn = tn[:120]
	}
	return "test:" + tn + ":" + rand.Text() + ":" + name
}

// hint tells how to start the test servers for the package under test.
func hint() string {
	return "start them with: make test (or scripts/test-services.sh go test " + pkgPattern() + ")"
}

// pkgPattern returns the package under test as a go test argument
// ("./backends/memcache/"): go test runs a test binary in its package's
// directory, below the module's go.mod.
func pkgPattern() string {
	wd, err := os.Getwd()
	if err != nil {
		return "./..."
	}
	for dir := wd; ; {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			rel, err := filepath.Rel(dir, wd)
			if err != nil || rel == "." {
				return "./..."
			}
			return "./" + filepath.ToSlash(rel) + "/"
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "./..."
		}
		dir = parent
	}
}
