package cli

import (
	"slices"
)

// backendDoc documents a registered backend for `dogpile backends` and for
// error messages. Backends do not describe their own arguments, so the
// command keeps this table for the backends of this module; a plugin
// backend registered by other code is listed with no documented arguments.
type backendDoc struct {
	Name    string `json:"name"`
	Package string `json:"package"`
	Summary string `json:"summary"`
	Shared  bool   `json:"shared"` // values reachable from other processes
	// Refused: the name is registered only to refuse configuration with
	// an error saying why (a Python backend whose wire is not matched).
	Refused bool     `json:"refused,omitempty"`
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

// inProcessLockArgDoc: the lock arguments of gocache's in-process stores.
var inProcessLockArgDoc = argDoc{"distributed_lock, lock_timeout, max_lock_attempts", "",
	"checked, and accepted without effect (Keystone's KVS passes them): the region's in-process lock"}

// dogpileMemcacheArgs are the arguments every dogpile.cache memcached name
// shares, with dogpile's defaults.
var dogpileMemcacheArgs = []argDoc{
	{"url", "(required)", `server addresses as the Python client reads them: "host:port,host:port" or a list (order decides placement)`},
	{"distributed_lock", "false", "dogpile's MemcachedLock (\"_lock\"+key, shared with Python); false: a lock per process"},
	{"lock_timeout", "0 (no expiry)", "lifetime of a lock item"},
	{"memcached_expire_time", "0 (none)", "server-side lifetime of every value"},
	{"socket_timeout", "3s", "connect, read and write timeout of each server call"},
	{"max_idle_conns", "256", "idle connections kept per server (Go only)"},
	{"max_item_size", "1048576", "the servers' item size limit; larger values are refused (Go only)"},
	{"tls_context", "none", "a *tls.Config (Go code, or oslo.cache's tls_enabled): connect with TLS (python-memcached itself ignores it)"},
}

// osloPassedArgDocs are what oslo.cache passes to every memcached backend
// and the Python backend ignores.
var osloPassedArgDocs = []argDoc{
	{"pool_maxsize, pool_unused_timeout, pool_connection_get_timeout, pool_flush_on_reconnect", "", "passed by oslo.cache to every memcached backend: accepted without effect, as in Python"},
	{"sasl_enabled, username, password", "false, none", "refused when set: SASL needs the binary protocol"},
}

func concatArgs(lists ...[]argDoc) []argDoc {
	var out []argDoc
	for _, l := range lists {
		out = append(out, l...)
	}
	return out
}

var backendDocs = []backendDoc{
	{
		Name: "memory", Package: memoryPkg,
		Summary: "values kept in this process as they are (no copies); max_size bounds them (W-TinyLFU eviction)",
		Args: []argDoc{
			{"max_size", "none (no bound)", "the most values kept; past it the values least likely to be used again are evicted (otter v2, W-TinyLFU)"},
			{"max_weight", "none", "instead of max_size, the largest total weight of the values kept, as measured by weigher"},
			{"weigher", "(required with max_weight)", "a Go func(key string, value any) uint32, given in code (not from a config file)"},
			{"expiration_time", "none", "hard time-to-live after which the backend drops a value (seconds or a Go duration), counted from each write"},
			{"cleanup_interval", "expiration_time", "how often expired values are swept out; 0 sweeps only on read; only with expiration_time, not with max_size or max_weight"},
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
		Name: "dogpile.cache.memory", Package: memoryPkg,
		Summary: "dogpile.cache's memory backend under its Python name: values kept in this process as they are",
		Args: []argDoc{
			{"cache_dict", "", "accepted without effect (a Python dict has no Go counterpart)"},
		},
	},
	{
		Name: "dogpile.cache.memory_pickle", Package: memoryPkg,
		Summary: "dogpile.cache's memory_pickle backend under its Python name: values kept as serialized bytes, isolated copies",
		Args: []argDoc{
			{"cache_dict", "", "accepted without effect (a Python dict has no Go counterpart)"},
		},
	},
	{
		Name: "dogpile.cache.null", Package: memoryPkg,
		Summary: "dogpile.cache's null backend under its Python name: stores nothing (oslo.cache's [cache] enabled = false)",
	},
	{
		Name: "oslo_cache.dict", Package: memoryPkg,
		Summary: "oslo.cache's dictionary backend: values kept in this process as they are",
		Args: []argDoc{
			{"expiration_time", "0 (never)", "seconds after which a value is dropped, whatever the region's expiration"},
		},
	},
	{
		Name: "memcached", Package: memcachePkg, Shared: true,
		Summary: "this project's own memcached backend and format (bradfitz/gomemcache; SHA-1 keys, msgpack values), not Python's: see the dogpile.cache.* names for a cache shared with Python",
		Server:  "memcached", AddrArgs: []string{"url"},
		TimeoutArg: "socket_timeout", DefaultTimeout: "3s",
		Args: []argDoc{
			{"url", "(required)", `server addresses: "host:port,host:port" or a list`},
			{"server_selector", "modulo", `how keys are spread over the servers: "modulo" (CRC-32) or "ketama" (consistent hashing)`},
			{"memcached_expire_time", "0 (none)", "server-side lifetime of every value; set it longer than the expiration time"},
			lockArgDocs[0], lockArgDocs[1], lockArgDocs[2],
			{"socket_timeout", "3s", "connect, read and write timeout of each server call"},
			{"dead_retry", "30s", "after a server fails, calls for its keys fail at once for this long; 0: every call tries it"},
			{"max_idle_conns", "256", "idle connections kept per server"},
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
		Name: "dogpile.cache.memcached", Package: memcachePkg, Shared: true,
		Summary: "shares a Python dogpile.cache.memcached region's values, keys and locks (python-memcached's wire: its server choice, flags and pickled CachedValue; dogpile's serialized form with a region serializer)",
		Server:  "memcached", AddrArgs: []string{"url"},
		TimeoutArg: "socket_timeout", DefaultTimeout: "3s",
		Args: concatArgs(dogpileMemcacheArgs, []argDoc{
			{"min_compress_len", "0 (never)", "zlib-compress stored values (pickled or serialized) longer than this when smaller (flag 8), as python-memcached"},
			{"dead_retry", "30s", "how long a failed server is skipped; its keys go where python-memcached's rehash sends them"},
		}, osloPassedArgDocs),
	},
	{
		Name: "oslo_cache.memcache_pool", Package: memcachePkg, Shared: true,
		Summary: "oslo.cache's pooled python-memcached backend: the wire of dogpile.cache.memcached",
		Server:  "memcached", AddrArgs: []string{"url"},
		TimeoutArg: "socket_timeout", DefaultTimeout: "3s",
		Args: concatArgs(dogpileMemcacheArgs, []argDoc{
			{"min_compress_len", "0 (never)", "zlib-compress stored values (pickled or serialized) longer than this when smaller (flag 8)"},
			{"dead_retry", "300s", "how long a failed server is skipped (the pool's default)"},
			{"pool_maxsize", "max_idle_conns", "idle connections kept per server"},
			{"pool_flush_on_reconnect", "false", "flush a server that comes back after being marked dead"},
			{"server_max_value_length", "1 MiB", "largest value stored; larger ones are refused"},
			{"pool_unused_timeout, pool_connection_get_timeout", "60, 10", "accepted without effect (gomemcache keeps idle connections and never waits for one)"},
			{"sasl_enabled, username, password", "false, none", "refused when set: SASL needs the binary protocol"},
		}),
	},
	{
		Name: "dogpile.cache.pymemcache", Package: memcachePkg, Shared: true,
		Summary: "shares a Python dogpile.cache.pymemcache region's values, keys and locks (HashClient's rendezvous hashing, protocol-5 pickles)",
		Server:  "memcached", AddrArgs: []string{"url"},
		TimeoutArg: "socket_timeout", DefaultTimeout: "3s",
		Args: concatArgs(dogpileMemcacheArgs, []argDoc{
			{"socket_keepalive", "none", "a net.KeepAliveConfig or *net.KeepAliveConfig (Go code): TCP keep-alive probes"},
			{"enable_retry_client", "false", "retry a call that failed on a server error (pymemcache's RetryingClient)"},
			{"retry_attempts", "none", "attempts in all, with enable_retry_client (1 or more)"},
			{"retry_delay", "0", "pause between attempts"},
			{"hashclient_retry_attempts", "2", "retries before a failed server is taken out of the hash (0: out at its first failure)"},
			{"hashclient_retry_timeout", "1s", "pause before a failed server is tried again (0: none)"},
			{"hashclient_dead_timeout", "60s", "how long a server taken out stays out (0: back at the next call)"},
			{"default_noreply", "false", "accepted without effect: writes always wait for the server's reply"},
			{"serde, retry_for, do_not_retry_for", "none", "Python objects: refused unless unset"},
			{"hashclient_retry_delay, dead_timeout", "none", "oslo.cache's names, which dogpile.cache does not read: accepted without effect"},
			{"dead_retry", "30s", "accepted without effect (python-memcached's setting; see hashclient_*)"},
		}, osloPassedArgDocs),
	},
	{
		Name: "dogpile.cache.pylibmc", Package: memcachePkg, Refused: true,
		Summary: "refused with an error: pylibmc's libmemcached hashing and flags are not matched; use dogpile.cache.memcached or dogpile.cache.pymemcache on both sides",
	},
	{
		Name: "dogpile.cache.bmemcached", Package: memcachePkg, Refused: true,
		Summary: "refused with an error: the binary protocol and SASL are not spoken; use dogpile.cache.pymemcache (TLS) or dogpile.cache.memcached on both sides",
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
			inProcessLockArgDoc,
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
			inProcessLockArgDoc,
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
