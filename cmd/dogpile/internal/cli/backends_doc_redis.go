package cli

const redisPkg = "github.com/dogpile-go/dogpile/backends/redis"

// redisArgDocs are the arguments of the three dogpile.cache Redis backends.
var redisArgDocs = []argDoc{
	{"username, password", "none", "credentials (ACL user, password)"},
	{"socket_timeout", "none", "read and write timeout of each command (seconds); none: wait (a caller's deadline still applies)"},
	{"socket_connect_timeout", "socket_timeout, else 5s", "connect timeout"},
	{"socket_keepalive", "false", "TCP keep-alive, with the system's timing unless socket_keepalive_options say otherwise"},
	{"socket_keepalive_options", "none", "TCP_KEEPIDLE, TCP_KEEPINTVL, TCP_KEEPCNT (a map, or a net.KeepAliveConfig, from code)"},
	{"ssl", "false", "TLS; ssl_certfile, ssl_keyfile, ssl_ca_certs, ssl_cert_reqs, ssl_check_hostname go in connection_kwargs"},
	{"redis_expiration_time", "0 (none)", "Redis TTL of every value, whole seconds (SETEX); keep it longer than the expiration time"},
	{"lock_timeout", "none", "lifetime of a lock key; none: it lives until released (redis-py's default)"},
	{"lock_sleep", "0.1", "pause between two attempts of a waiting lock (seconds)"},
	{"lock_blocking_timeout", "none", "longest wait for a lock; then the caller creates without it"},
	{"lock_blocking", "true", "accepted; no effect, as in dogpile.cache 1.4.1 (each acquire says whether it waits)"},
	{"thread_local_lock", "true", "accepted; no meaning in Go (each lock value is one holder)"},
	{"connection_kwargs", "none", "redis-py connection arguments (a map, or a JSON object): client_name, max_connections, ssl_*, ssl_ciphers ...; without url not host, port, db, username, password (dogpile.cache overrides them)"},
	{"connection_pool", "", "refused: a redis-py ConnectionPool is a Python object; pass a go-redis client as client"},
	{"client", "none", "a go-redis client (redis.UniversalClient) to use instead of connection arguments, from Go code"},
}

// redisBackendDocs document backends/redis.
var redisBackendDocs = []backendDoc{
	{
		Name: "dogpile.cache.redis", Package: redisPkg, Shared: true,
		Summary: "dogpile.cache's Redis backend on the wire (go-redis): {\"ct\": ..., \"v\": 2}|pickle values, redis-py's lock",
		Server:  "Redis", AddrArgs: []string{"url", "host"}, DefaultAddr: "localhost:6379",
		TimeoutArg: "socket_timeout", DefaultTimeout: "none",
		Args: append([]argDoc{
			{"url", "none", "redis://[user:password@]host:port[/db] (rediss:// for TLS, unix:///path); host, port, db, username, password are refused next to it (dogpile.cache drops them)"},
			{"host", "localhost", "server host"},
			{"port", "6379", "server port"},
			{"db", "0", "database number"},
			{"distributed_lock", "false", "hold the dogpile lock in Redis (redis-py's Lock on \"_lock\"+key), shared with Python processes"},
		}, redisArgDocs...),
	},
	{
		Name: "dogpile.cache.redis_sentinel", Package: redisPkg, Shared: true,
		Summary: "dogpile.cache's Redis Sentinel backend: the master the Sentinels name, followed through failovers",
		Server:  "Redis Sentinel", AddrArgs: []string{"sentinels"},
		TimeoutArg: "socket_timeout", DefaultTimeout: "none",
		Args: append([]argDoc{
			{"sentinels", "(required)", `the Sentinels: "host:port,host:port", or a list of [host, port] pairs`},
			{"service_name", "mymaster", "the name the Sentinels know the master by"},
			{"sentinel_kwargs", "none", "connection arguments for the Sentinels (username, password); default: the top-level credentials"},
			{"db", "0", "database number"},
			{"distributed_lock", "true", "hold the dogpile lock on the master (redis-py's Lock on \"_lock\"+key); redis_sentinel's default is true"},
		}, redisArgDocs...),
	},
	{
		Name: "dogpile.cache.redis_cluster", Package: redisPkg, Shared: true,
		Summary: "dogpile.cache's Redis Cluster backend: multi-key calls grouped by hash slot and pipelined",
		Server:  "Redis Cluster", AddrArgs: []string{"startup_nodes", "url"},
		TimeoutArg: "socket_timeout", DefaultTimeout: "none",
		Args: append([]argDoc{
			{"startup_nodes", "(required, or url)", `cluster nodes: "host:port,host:port", or a list of [host, port] pairs`},
			{"url", "none", `redis://host:port of any node, or a list of them`},
			{"host, port", "none", "one node, when neither startup_nodes nor url is given"},
			{"db", "0", "must be 0: a cluster has one database"},
			{"distributed_lock", "false", "hold the dogpile lock in the cluster (redis-py's Lock on \"_lock\"+key, in its own slot)"},
		}, redisArgDocs...),
	},
}

func init() { backendDocs = append(backendDocs, redisBackendDocs...) }
