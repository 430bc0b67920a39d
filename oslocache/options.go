package oslocache

import (
	"slices"
	"sort"
)

// cacheSection is the section oslo.cache reads.
const cacheSection = "cache"

// kind is an oslo.config option type.
type kind int

const (
	kindString kind = iota // StrOpt
	kindInt                // IntOpt
	kindFloat              // FloatOpt
	kindBool               // BoolOpt
	kindList               // ListOpt
	kindMulti              // MultiStrOpt
)

func (k kind) String() string {
	return [...]string{"string", "integer", "number", "boolean", "list", "multi-valued string"}[k]
}

// optionDef is one option oslo.cache defines in [cache]: in Debian's
// python3-oslo.cache 3.2, in the newest release, or in a release between
// (enforce_fips_mode, the redis_username/password/socket_timeout options
// that the newest release folds into username, password and socket_timeout).
type optionDef struct {
	name string
	kind kind
	// def is the default as converted: string, int64, float64, bool,
	// []string, or nil for None.
	def    any
	hasMin bool
	min    int64
	// alias is the newer name this (older) option stands for, e.g.
	// dead_timeout for hashclient_dead_timeout: when both are set, the
	// newer one wins, as oslo.config's deprecated names do.
	alias string
	// since names the oslo.cache release line that defines it.
	since string
	// use says, for documentation and `dogpile config check`, what the
	// option does in Go.
	use string
}

const (
	since32     = "3.2"
	sinceNewer  = "newer than 3.2"
	sinceBefore = "3.2 to 2025 (removed since)"
)

// cacheOptions is every [cache] option, in oslo.cache's order.
var cacheOptions = []optionDef{
	{name: "config_prefix", kind: kindString, def: "cache.oslo", since: since32,
		use: "accepted, no effect: Go passes the arguments to the backend directly, not through a prefixed configuration dictionary"},
	{name: "expiration_time", kind: kindInt, def: int64(600), hasMin: true, min: 1, since: since32,
		use: "the region's expiration time (region.WithExpirationTime), and the default of every memoized function"},
	{name: "backend_expiration_time", kind: kindInt, def: nil, hasMin: true, min: 1, since: sinceNewer,
		use: "memcached_expire_time (memcached backends) or redis_expiration_time (Redis backends); must not be below expiration_time"},
	{name: "backend", kind: kindString, def: "dogpile.cache.null", since: since32,
		use: "the registered backend name (dogpile.cache.*, oslo_cache.memcache_pool, oslo_cache.dict)"},
	{name: "backend_argument", kind: kindMulti, def: []string{}, since: since32,
		use: "backend arguments, one name:value per line; url is split at commas for the memcached backends"},
	{name: "proxies", kind: kindList, def: []string{}, since: since32,
		use: "names of proxies registered with region.RegisterProxy; the last listed is the outermost, as with oslo.cache's region.wrap"},
	{name: "enabled", kind: kindBool, def: false, since: since32,
		use: "false configures dogpile.cache.null (every call goes to its creator) and turns memoization off"},
	{name: "debug_cache_backend", kind: kindBool, def: false, since: since32,
		use: "wraps the backend in the logging proxy (proxies/logging), innermost"},
	{name: "memcache_servers", kind: kindList, def: []string{"localhost:11211"}, since: since32,
		use: "the memcached backends' url, unless backend_argument sets url; inet6:[host]:port accepted"},
	{name: "memcache_dead_retry", kind: kindInt, def: int64(300), since: since32,
		use: "dead_retry of dogpile.cache.memcached and oslo_cache.memcache_pool"},
	{name: "memcache_socket_timeout", kind: kindFloat, def: 1.0, alias: "socket_timeout", since: since32,
		use: "socket_timeout of dogpile.cache.memcached and oslo_cache.memcache_pool (newer oslo.cache: socket_timeout)"},
	{name: "memcache_pool_maxsize", kind: kindInt, def: int64(10), since: since32,
		use: "pool_maxsize of oslo_cache.memcache_pool"},
	{name: "memcache_pool_unused_timeout", kind: kindInt, def: int64(60), since: since32,
		use: "pool_unused_timeout of oslo_cache.memcache_pool"},
	{name: "memcache_pool_connection_get_timeout", kind: kindInt, def: int64(10), since: since32,
		use: "pool_connection_get_timeout of oslo_cache.memcache_pool"},
	{name: "memcache_pool_flush_on_reconnect", kind: kindBool, def: false, since: since32,
		use: "pool_flush_on_reconnect of oslo_cache.memcache_pool"},
	{name: "memcache_sasl_enabled", kind: kindBool, def: false, since: since32,
		use: "refused when true with oslo_cache.memcache_pool: SASL needs memcached's binary protocol, which no well-kept Go client speaks"},
	{name: "memcache_username", kind: kindString, def: "", alias: "username", since: since32,
		use: "SASL user name (see memcache_sasl_enabled); username of dogpile.cache.bmemcached"},
	{name: "memcache_password", kind: kindString, def: "", alias: "password", since: since32,
		use: "SASL password (see memcache_sasl_enabled); password of dogpile.cache.bmemcached"},
	{name: "redis_server", kind: kindString, def: "localhost:6379", since: sinceNewer,
		use: "host and port of dogpile.cache.redis, unless backend_argument sets url"},
	{name: "redis_db", kind: kindInt, def: int64(0), hasMin: true, min: 0, since: sinceNewer,
		use: "db of the Redis backends"},
	{name: "redis_username", kind: kindString, def: nil, alias: "username", since: sinceBefore,
		use: "username of the Redis backends (newest oslo.cache: username)"},
	{name: "redis_password", kind: kindString, def: nil, alias: "password", since: sinceBefore,
		use: "password of the Redis backends (newest oslo.cache: password)"},
	{name: "redis_sentinels", kind: kindList, def: []string{"localhost:26379"}, since: sinceNewer,
		use: "sentinels of dogpile.cache.redis_sentinel, host:port each"},
	{name: "redis_socket_timeout", kind: kindFloat, def: 1.0, alias: "socket_timeout", since: sinceBefore,
		use: "socket_timeout of the Redis backends (newest oslo.cache: socket_timeout)"},
	{name: "redis_sentinel_service_name", kind: kindString, def: "mymaster", since: sinceNewer,
		use: "service_name of dogpile.cache.redis_sentinel"},
	{name: "username", kind: kindString, def: nil, since: sinceNewer,
		use: "user name for the memcached (SASL) or Redis server; memcache_username and redis_username are its older names"},
	{name: "password", kind: kindString, def: nil, since: sinceNewer,
		use: "password for the memcached (SASL) or Redis server; memcache_password and redis_password are its older names"},
	{name: "socket_timeout", kind: kindFloat, def: 1.0, since: sinceNewer,
		use: "socket_timeout of the python-memcached and Redis backends; memcache_socket_timeout and redis_socket_timeout are its older names"},
	{name: "tls_enabled", kind: kindBool, def: false, since: since32,
		use: "TLS to the cache servers: a *tls.Config as tls_context (memcached backends) or connection_kwargs (Redis backends)"},
	{name: "tls_cafile", kind: kindString, def: nil, since: since32,
		use: "PEM CA certificates the server must chain to (default: the system's)"},
	{name: "tls_certfile", kind: kindString, def: nil, since: since32,
		use: "PEM client certificate (and its chain), for servers that check clients"},
	{name: "tls_keyfile", kind: kindString, def: nil, since: since32,
		use: "PEM client key (default: in tls_certfile)"},
	{name: "tls_allowed_ciphers", kind: kindString, def: nil, since: since32,
		use: "OpenSSL cipher list (names such as ECDHE-RSA-AES128-GCM-SHA256, !name, HIGH, DEFAULT) mapped to Go's TLS 1.2 cipher suites"},
	{name: "enable_socket_keepalive", kind: kindBool, def: false, since: since32,
		use: "TCP keepalive (a net.KeepAliveConfig) for dogpile.cache.pymemcache and the Redis backends; refused with others, as oslo.cache does"},
	{name: "socket_keepalive_idle", kind: kindInt, def: int64(1), hasMin: true, min: 0, since: since32,
		use: "idle time before keepalive probes, seconds"},
	{name: "socket_keepalive_interval", kind: kindInt, def: int64(1), hasMin: true, min: 0, since: since32,
		use: "time between keepalive probes, seconds"},
	{name: "socket_keepalive_count", kind: kindInt, def: int64(1), hasMin: true, min: 0, since: since32,
		use: "keepalive probes before the connection is dropped"},
	{name: "enable_retry_client", kind: kindBool, def: false, since: since32,
		use: "pymemcache's retrying client (dogpile.cache.pymemcache only, as oslo.cache requires)"},
	{name: "retry_attempts", kind: kindInt, def: int64(2), hasMin: true, min: 1, since: since32,
		use: "retry_attempts of the retrying client"},
	{name: "retry_delay", kind: kindFloat, def: 0.0, since: since32,
		use: "retry_delay of the retrying client, seconds"},
	{name: "hashclient_retry_attempts", kind: kindInt, def: int64(2), hasMin: true, min: 1, since: since32,
		use: "hashclient_retry_attempts of dogpile.cache.pymemcache (with enable_retry_client)"},
	{name: "hashclient_retry_timeout", kind: kindFloat, def: 1.0, since: sinceNewer,
		use: "hashclient_retry_timeout of dogpile.cache.pymemcache (with enable_retry_client); hashclient_retry_delay is its older name"},
	{name: "hashclient_retry_delay", kind: kindFloat, def: 1.0, alias: "hashclient_retry_timeout", since: since32,
		use: "older name of hashclient_retry_timeout"},
	{name: "hashclient_dead_timeout", kind: kindFloat, def: 60.0, since: sinceNewer,
		use: "hashclient_dead_timeout of dogpile.cache.pymemcache (with enable_retry_client); dead_timeout is its older name"},
	{name: "dead_timeout", kind: kindFloat, def: 60.0, alias: "hashclient_dead_timeout", since: since32,
		use: "older name of hashclient_dead_timeout"},
	{name: "enforce_fips_mode", kind: kindBool, def: false, since: sinceBefore,
		use: "with tls_enabled, requires Go's FIPS 140-3 mode (GODEBUG=fips140=on), which a program cannot switch on once running"},
}

var optionIndex = func() map[string]*optionDef {
	m := make(map[string]*optionDef, len(cacheOptions))
	for i := range cacheOptions {
		m[cacheOptions[i].name] = &cacheOptions[i]
	}
	return m
}()

// lookupOption returns the definition of a [cache] option.
func lookupOption(name string) (*optionDef, bool) {
	d, ok := optionIndex[name]
	return d, ok
}

// OptionNames returns the name of every [cache] option oslo.cache defines
// (3.2 and newer releases), sorted.
func OptionNames() []string {
	names := make([]string, 0, len(cacheOptions))
	for _, d := range cacheOptions {
		names = append(names, d.name)
	}
	sort.Strings(names)
	return names
}

// OptionUse returns what a [cache] option does in Go, in one sentence, and
// false for a name oslo.cache does not define.
func OptionUse(name string) (string, bool) {
	d, ok := lookupOption(name)
	if !ok {
		return "", false
	}
	return d.use, true
}

// backendChoices are the backend names oslo.cache offers (3.2 and newer)
// plus dogpile.cache's redis_cluster; supported reports which of them Go
// has.
var backendChoices = []string{
	"oslo_cache.memcache_pool",
	"oslo_cache.dict",
	"oslo_cache.mongo",
	"oslo_cache.etcd3gw",
	"dogpile.cache.pymemcache",
	"dogpile.cache.memcached",
	"dogpile.cache.pylibmc",
	"dogpile.cache.bmemcached",
	"dogpile.cache.dbm",
	"dogpile.cache.redis",
	"dogpile.cache.redis_sentinel",
	"dogpile.cache.redis_cluster",
	"dogpile.cache.memory",
	"dogpile.cache.memory_pickle",
	"dogpile.cache.null",
}

// unsupportedBackends says why a backend oslo.cache offers has no Go
// counterpart.
var unsupportedBackends = map[string]string{
	"oslo_cache.mongo":   "MongoDB is not a backend of this project (oslo.cache itself removed oslo_cache.mongo)",
	"oslo_cache.etcd3gw": "etcd through its gRPC gateway is not a backend of this project",
	"dogpile.cache.dbm":  "a DBM file on one host, in Python's dbm format, is not a backend of this project",
}

// isBackendChoice reports whether name is a backend oslo.cache offers.
func isBackendChoice(name string) bool { return slices.Contains(backendChoices, name) }
