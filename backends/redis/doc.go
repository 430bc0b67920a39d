// Package redis registers dogpile.cache's Redis backends, on go-redis v9,
// under their Python names:
//
//	dogpile.cache.redis           one server (host, port, db, or url)
//	dogpile.cache.redis_sentinel  the master Redis Sentinels name (sentinels, service_name)
//	dogpile.cache.redis_cluster   a Redis Cluster (startup_nodes, or url of any node)
//
// Import it for its side effect and configure a region by name:
//
//	import _ "github.com/dogpile-go/dogpile/backends/redis"
//
//	err := r.Configure("dogpile.cache.redis", region.WithArguments(region.Arguments{
//		"host": "127.0.0.1", "port": 6379, "distributed_lock": true,
//	}))
//
// On the wire a region on these backends is a Python dogpile.cache region
// with the same name and arguments (dogpile.cache 1.1 and later, redis-py):
// keys are stored as given; values are dogpile.cache's serialized format,
// {"ct": <seconds>, "v": 2}|<payload> (region.DogpileEnvelope), the payload
// pickled (package pickle, Python 3's default protocol) unless the region
// has a serializer of its own (region.WithSerializer(region.JSONSerializer{})
// for dogpile's JSON serializer); writes are SET, or SETEX with
// redis_expiration_time, and MSET or a SETEX pipeline; reads GET and MGET.
// With distributed_lock the creation lock is redis-py's Lock on "_lock" +
// key (redismutex.PyLock), so Go and Python processes exclude each
// other. On a cluster the multi-key calls are grouped by hash slot and
// pipelined.
//
// The arguments are dogpile.cache's, with its defaults. Unknown ones are an
// error naming them (with a "did you mean"); thread_local_lock and
// lock_blocking are accepted without effect; Python objects
// (connection_pool, a redis-py Retry or SSLContext in connection_kwargs)
// are refused, and "client" takes a go-redis client instead. Valkey works
// through the same backends. See docs/redis.md for the table, the lock,
// failover and the deliberate differences from Python.
package redis
