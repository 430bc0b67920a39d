package cli

import (
	"slices"
	"strings"
)

// backendDoc documents a registered backend for `dogpile backends` and for
// error messages. Backends do not describe their own arguments, so the
// command keeps this table for the backends of this module; a plugin
// backend registered by other code is listed with no documented arguments.
type backendDoc struct {
	Name    string   `json:"name"`
	Package string   `json:"package"`
	Summary string   `json:"summary"`
	Shared  bool     `json:"shared"` // values reachable from other processes
	Args    []argDoc `json:"arguments"`
	// Server is what the backend talks to ("memcached", "Redis"), for
	// error messages; empty for in-process backends.
	Server string `json:"-"`
	// AddrArgs are the arguments naming the server, in order of
	// preference, and DefaultAddr the address used when none is given.
	AddrArgs    []string `json:"-"`
	DefaultAddr string   `json:"-"`
	// TimeoutArg names the argument bounding one server call and
	// DefaultTimeout its default.
	TimeoutArg     string `json:"-"`
	DefaultTimeout string `json:"-"`
}

type argDoc struct {
	Name    string `json:"name"`
	Default string `json:"default"`
	Doc     string `json:"doc"`
}

const (
	memoryPkg   = "github.com/dogpile-go/dogpile/backends/memory"
	memcachePkg = "github.com/dogpile-go/dogpile/backends/memcache"
	gocachePkg  = "github.com/dogpile-go/dogpile/backends/gocache"
)

var lockArgDocs = []argDoc{
	{"distributed_lock", "true", "hold the dogpile lock on the server, so one process creates a value; false: a lock per process"},
	{"lock_timeout", "5s", "lifetime of a lock, so a crashed holder blocks the others at most this long"},
	{"max_lock_attempts", "0 (unlimited)", "attempts of a waiting lock before it gives up"},
}

var backendDocs = []backendDoc{
	{
		Name: "memory", Package: memoryPkg,
		Summary: "values kept in this process as they are (no copies)",
		Args: []argDoc{
			{"expiration_time", "none", "hard time-to-live after which the backend drops a value (seconds or a Go duration)"},
			{"cleanup_interval", "expiration_time", "how often expired values are swept out; 0 sweeps only on read"},
		},
	},
	{
		Name: "memory_serialized", Package: memoryPkg,
		Summary: "values kept in this process as serialized bytes: every read is an isolated copy",
	},
	{
		Name: "null", Package: memoryPkg,
		Summary: "stores nothing; its lock never blocks (dogpile's null backend)",
	},
	{
		Name: "openstack.kvs.Memory", Package: memoryPkg,
		Summary: "Keystone's in-memory KVS backend: isolated copies in this process, no expiry",
	},
	{
		Name: "memcached", Package: memcachePkg, Shared: true,
		Summary: "dogpile.cache's memcached backend (bradfitz/gomemcache); keys mangled with SHA-1",
		Server:  "memcached", AddrArgs: []string{"url"},
		TimeoutArg: "socket_timeout", DefaultTimeout: "3s",
		Args: []argDoc{
			{"url", "(required)", `server addresses: "host:port,host:port" or a list`},
			{"server_selector", "modulo", `how keys are spread over the servers: "modulo" (CRC-32) or "ketama" (consistent hashing)`},
			{"memcached_expire_time", "0 (none)", "server-side lifetime of every value; set it longer than the expiration time"},
			lockArgDocs[0], lockArgDocs[1], lockArgDocs[2],
			{"socket_timeout", "3s", "connect, read and write timeout of each server call"},
			{"max_idle_conns", "16", "idle connections kept per server"},
			{"max_item_size", "1048576", "the servers' item size limit (memcached -I); larger values are refused"},
		},
	},
	{
		Name: "openstack.kvs.Memcached", Package: memcachePkg, Shared: true,
		Summary: "Keystone's KVS memcached backend: a driver chosen by name, lock always in memcached",
		Server:  "memcached", AddrArgs: []string{"url"}, DefaultAddr: "localhost:11211",
		TimeoutArg: "socket_timeout", DefaultTimeout: "3s",
		Args: []argDoc{
			{"url", "localhost:11211", "server addresses"},
			{"memcached_backend", "memcached", "the memcached driver's registered name (memcached, pooled_memcached)"},
			{"no_expiry_keys", "none", "keys (before mangling) written without memcached_expire_time"},
			{"lock_timeout", "5s", "lifetime of a lock item"},
			{"max_lock_attempts", "15", "attempts of a waiting lock; 0 = unlimited"},
			{"use_backend_key_mangler", "false", "use the backend's key mangler even over an explicit one"},
			{"memcached_expire_time, socket_timeout, ...", "", "every other argument goes to the driver (see memcached)"},
		},
	},
	{
		Name: "gocache", Package: gocachePkg,
		Summary: "any eko/gocache v4 store, given in Go code (not from a config file)",
		Args: []argDoc{
			{"store", "(required)", "the store.StoreInterface (a Go value)"},
			{"serialize", "by store type", "true: keep bytes; false: keep Go values"},
			{"expiration", "the store's", "passed to the store with every Set"},
			{"client", "none", "the *redis.Client or *memcache.Client under the store, for batch calls and locks"},
			{"distributed_lock", "true with a client", "hold the dogpile lock in the client's server"},
			lockArgDocs[1], lockArgDocs[2],
		},
	},
	{
		Name: "gocache.go_cache", Package: gocachePkg,
		Summary: "patrickmn/go-cache through eko/gocache, in this process",
		Args: []argDoc{
			{"default_expiration", "never", "go-cache's default expiration: values are dropped after it"},
			{"cleanup_interval", "default_expiration", "how often expired values are swept out; 0: never"},
			{"serialize", "false", "true keeps serialized bytes (isolated copies)"},
		},
	},
	{
		Name: "gocache.ristretto", Package: gocachePkg,
		Summary: "dgraph-io/ristretto through eko/gocache, in this process, bounded by cost",
		Args: []argDoc{
			{"max_cost", "100000", "the bound: a number of values (of bytes with serialize=true, default 64 MiB)"},
			{"num_counters", "10 x max_cost", "admission counters"},
			{"buffer_items", "64", "ristretto's Get buffer size"},
			{"expiration", "none", "time-to-live of every value"},
			{"metrics", "false", "keep ristretto's metrics"},
			{"serialize", "false", "true keeps serialized bytes"},
		},
	},
	{
		Name: "gocache.redis", Package: gocachePkg, Shared: true,
		Summary: "Redis (go-redis) through eko/gocache; values as bytes, lock in Redis",
		Server:  "Redis", AddrArgs: []string{"addr", "url"}, DefaultAddr: "127.0.0.1:6379",
		TimeoutArg: "socket_timeout", DefaultTimeout: "3s",
		Args: []argDoc{
			{"url", "none", "redis://[user:password@]host:port[/db] (rediss:// for TLS)"},
			{"addr", "127.0.0.1:6379", "host:port, when url is not given"},
			{"db", "0", "database number"},
			{"username, password", "none", "credentials"},
			{"tls", "false", "connect with TLS"},
			{"pool_size", "10 per CPU", "most connections"},
			{"socket_timeout", "3s", "the longest one command may take, connecting and retries included"},
			{"connect_timeout", "socket_timeout", "dial timeout"},
			{"max_retries", "0", "retries of a failed command (0: none; go-redis retries 3 times by default, which multiplies outage latency)"},
			{"expiration", "none", "Redis TTL of every value; keep it longer than the expiration time"},
			lockArgDocs[0], lockArgDocs[1], lockArgDocs[2],
		},
	},
	{
		Name: "gocache.memcache", Package: gocachePkg, Shared: true,
		Summary: "memcached (gomemcache) through eko/gocache; values as bytes, lock in memcached",
		Server:  "memcached", AddrArgs: []string{"url"}, DefaultAddr: "127.0.0.1:11211",
		TimeoutArg: "socket_timeout", DefaultTimeout: "3s",
		Args: []argDoc{
			{"url", "127.0.0.1:11211", "server list"},
			{"expiration", "none", "memcached expiry of every value (whole seconds, at most 30 days)"},
			{"socket_timeout", "3s", "per-call timeout"},
			{"max_idle_conns", "16", "idle connections kept per server"},
			lockArgDocs[0], lockArgDocs[1], lockArgDocs[2],
		},
	},
}

// docFor returns the documentation of a backend, or a stand-in saying that
// it has none.
func docFor(name string) (backendDoc, bool) {
	i := slices.IndexFunc(backendDocs, func(d backendDoc) bool { return d.Name == name })
	if i < 0 {
		return backendDoc{Name: name, Summary: "plugin backend"}, false
	}
	return backendDocs[i], true
}

// pythonNames maps dogpile.cache and oslo.cache backend names to the
// backend that does the same job here, for hints in error messages.
var pythonNames = map[string]string{
	"dogpile.cache.memory":                                          "memory",
	"dogpile.cache.memory_pickle":                                   "memory_serialized",
	"dogpile.cache.null":                                            "null",
	"dogpile.cache.memcached":                                       "memcached",
	"dogpile.cache.pylibmc":                                         "memcached",
	"dogpile.cache.bmemcached":                                      "memcached",
	"dogpile.cache.pymemcache":                                      "memcached",
	"oslo_cache.memcache_pool":                                      "memcached",
	"dogpile.cache.redis":                                           "gocache.redis",
	"keystone.common.kvs.backends.inmemdb.MemoryBackend":            "openstack.kvs.Memory",
	"keystone.common.kvs.backends.memcached.MemcachedBackend":       "openstack.kvs.Memcached",
	"keystone.common.kvs.backends.memcached.PooledMemcachedBackend": "openstack.kvs.Memcached",
}

// suggestBackend returns the registered name a person probably meant.
func suggestBackend(name string, registered []string) string {
	if s, ok := pythonNames[name]; ok && slices.Contains(registered, s) {
		return s
	}
	for _, r := range registered {
		if strings.EqualFold(r, name) {
			return r
		}
	}
	return ""
}
