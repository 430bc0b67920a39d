// Package boundaries holds no code: its test keeps the module's package
// boundaries. A program that keeps its values in process (region,
// region/regiontest, backends/memory, kvs, lockmutex) must link no network
// client: no go-redis, gomemcache, eko/gocache, Prometheus or bsm/redislock,
// and none of this module's packages built on them. The test lists each such
// package's dependencies with `go list -deps` and fails, naming the import
// chain, when one of those creeps in.
package boundaries
