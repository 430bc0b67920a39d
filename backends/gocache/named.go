package gocache

import (
	"crypto/tls"
	"fmt"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/bradfitz/gomemcache/memcache"
	"github.com/dgraph-io/ristretto/v2"
	"github.com/eko/gocache/lib/v4/store"
	gocachestore "github.com/eko/gocache/store/go_cache/v4"
	memcachestore "github.com/eko/gocache/store/memcache/v4"
	redisstore "github.com/eko/gocache/store/redis/v4"
	ristrettostore "github.com/eko/gocache/store/ristretto/v4"
	gocache "github.com/patrickmn/go-cache"
	"github.com/redis/go-redis/v9"

	"github.com/dogpile-go/dogpile/internal/memcacheutil"
	"github.com/dogpile-go/dogpile/lockmutex/memcachedmutex"
	"github.com/dogpile-go/dogpile/lockmutex/redismutex"
	"github.com/dogpile-go/dogpile/region"
)

// Defaults of the named backends' arguments.
const (
	// DefaultRedisAddr is gocache.redis's server when neither url nor addr
	// is given.
	DefaultRedisAddr = "127.0.0.1:6379"
	// DefaultMemcacheURL is gocache.memcache's server when url is not given.
	DefaultMemcacheURL = "127.0.0.1:11211"
	// DefaultRistrettoMaxCost is gocache.ristretto's max_cost: a number of
	// values (each costs 1).
	DefaultRistrettoMaxCost = 100_000
	// DefaultRistrettoMaxBytes is gocache.ristretto's max_cost with
	// serialize=true: a number of bytes (64 MiB).
	DefaultRistrettoMaxBytes = 64 << 20
	// DefaultRistrettoBufferItems is gocache.ristretto's buffer_items.
	DefaultRistrettoBufferItems = 64
	// DefaultRedisSocketTimeout is gocache.redis's socket_timeout: how long
	// a read or write on a Redis connection may take.
	DefaultRedisSocketTimeout = 3 * time.Second
	// DefaultMemcacheSocketTimeout is gocache.memcache's socket_timeout.
	DefaultMemcacheSocketTimeout = 3 * time.Second
	// DefaultMemcacheMaxIdleConns is gocache.memcache's max_idle_conns.
	DefaultMemcacheMaxIdleConns = 16
)

// memcachedMaxRelative is the longest expiration memcached reads as
// relative seconds (30 days); larger numbers are Unix times, which
// gocache's memcache store cannot send (it passes the lifetime in seconds).
const memcachedMaxRelative = memcacheutil.MaxRelativeExpiration * time.Second

// lockArgNames are the arguments readLockArgs reads.
var lockArgNames = []string{"distributed_lock", "lock_timeout", "max_lock_attempts"}

// backendArguments are the arguments of each backend of this package; any
// other is refused (region.UnknownArgumentError), so that a misspelt or
// misplaced argument (a Redis "host", a "clinet") is not silently dropped.
// The in-process stores accept the lock arguments (checked, see
// inProcessLockArgs) without effect, as Keystone's KVS passes them to
// every backend.
var backendArguments = map[string][]string{
	"gocache":           append([]string{"store", "serialize", "expiration", "client"}, lockArgNames...),
	"gocache.go_cache":  append([]string{"default_expiration", "cleanup_interval", "serialize"}, lockArgNames...),
	"gocache.ristretto": append([]string{"max_cost", "num_counters", "buffer_items", "expiration", "metrics", "serialize"}, lockArgNames...),
	"gocache.redis": append([]string{"url", "addr", "db", "username", "password", "tls", "pool_size",
		"socket_timeout", "connect_timeout", "max_retries", "expiration", "serialize"}, lockArgNames...),
	"gocache.memcache": append([]string{"url", "expiration", "serialize", "socket_timeout", "max_idle_conns"}, lockArgNames...),
}

func init() {
	for name, f := range map[string]region.BackendFactory{
		"gocache":           newFromStore,
		"gocache.go_cache":  newGoCache,
		"gocache.ristretto": newRistretto,
		"gocache.redis":     newRedis,
		"gocache.memcache":  newMemcache,
	} {
		region.RegisterBackend(name, checked(name, f))
	}
}

// checked refuses arguments the backend does not know before building it.
func checked(name string, f region.BackendFactory) region.BackendFactory {
	known := backendArguments[name]
	return func(args region.Arguments) (region.Backend, error) {
		if err := args.CheckKnown(name, known...); err != nil {
			return nil, err
		}
		return f(args)
	}
}

// modeArg reads the "serialize" argument: unset is AutoMode.
func modeArg(args region.Arguments) (Mode, error) {
	if !args.Has("serialize") {
		return AutoMode, nil
	}
	on, err := args.Bool("serialize", false)
	if err != nil {
		return AutoMode, err
	}
	if on {
		return BytesMode, nil
	}
	return ObjectMode, nil
}

// lockArgs reads distributed_lock, lock_timeout and max_lock_attempts.
type lockArgs struct {
	enabled     bool
	timeout     time.Duration
	maxAttempts int
}

func readLockArgs(args region.Arguments, def bool) (lockArgs, error) {
	var l lockArgs
	var err error
	if l.enabled, err = args.Bool("distributed_lock", def); err != nil {
		return l, err
	}
	if l.timeout, err = args.Duration("lock_timeout", 0); err != nil {
		return l, err
	}
	if l.maxAttempts, err = args.Int("max_lock_attempts", 0); err != nil {
		return l, err
	}
	if l.maxAttempts < 0 {
		return l, &region.ArgumentError{Name: "max_lock_attempts", Value: args["max_lock_attempts"], Want: "zero (no limit) or more"}
	}
	return l, nil
}

// inProcessLockArgs checks the lock arguments of an in-process store
// (gocache.go_cache, gocache.ristretto), which it accepts without effect:
// only this process reads such a store, and the region's in-process lock
// already lets one of its callers create a value. distributed_lock: true
// is accepted too, as dogpile.cache.memory accepts it: Keystone's KVS
// passes it to whatever backend it configures.
func inProcessLockArgs(args region.Arguments) error {
	_, err := readLockArgs(args, false)
	return err
}

func (l lockArgs) redis(c redis.UniversalClient) func(string) region.Mutex {
	if !l.enabled {
		return nil
	}
	opts := redismutex.Options{LockTimeout: l.timeout, MaxLockAttempts: l.maxAttempts}
	return func(key string) region.Mutex { return redismutex.New(c, key, opts) }
}

func (l lockArgs) memcached(c *memcache.Client) func(string) region.Mutex {
	if !l.enabled {
		return nil
	}
	opts := memcachedmutex.Options{LockTimeout: l.timeout, MaxLockAttempts: l.maxAttempts}
	return func(key string) region.Mutex { return memcachedmutex.New(c, key, opts) }
}

// newFromStore is the "gocache" backend: any store.StoreInterface.
//
//	store              the store.StoreInterface (required; a Go value)
//	serialize          true: bytes, false: Go values; unset: by the store's type
//	expiration         passed to the store with every Set (default: the store's own)
//	client             the *redis.Client (or other redis.UniversalClient) or
//	                   *memcache.Client under the store, for batch calls and locks
//	distributed_lock   hold the dogpile lock in the client's server
//	                   (default: true when client is given)
//	lock_timeout       lifetime of a lock (default lockmutex.DefaultLockTimeout)
//	max_lock_attempts  bound on a waiting lock's attempts (default: none)
func newFromStore(args region.Arguments) (region.Backend, error) {
	v, ok := args["store"]
	s, isStore := v.(store.StoreInterface)
	if !ok || !isStore || s == nil {
		return nil, &region.ArgumentError{Name: "store", Value: v, Want: "a github.com/eko/gocache/lib/v4/store.StoreInterface"}
	}
	mode, err := modeArg(args)
	if err != nil {
		return nil, err
	}
	exp, err := args.Duration("expiration", 0)
	if err != nil {
		return nil, err
	}
	opts := Options{Mode: mode, Expiration: exp}
	client := args["client"]
	locks, err := readLockArgs(args, client != nil)
	if err != nil {
		return nil, err
	}
	switch c := client.(type) {
	case nil:
		if locks.enabled {
			return nil, &region.ArgumentError{Name: "distributed_lock", Value: args["distributed_lock"],
				Want: "false without a client argument (a *redis.Client or *memcache.Client to hold the lock in)"}
		}
	case redis.UniversalClient:
		opts.RedisClient = c
		opts.Mutex = locks.redis(c)
	case *memcache.Client:
		opts.MemcacheClient = c
		opts.Mutex = locks.memcached(c)
	default:
		return nil, &region.ArgumentError{Name: "client", Value: client, Want: "a redis.UniversalClient or a *memcache.Client"}
	}
	if opts.Mode == ObjectMode && client != nil {
		return nil, &region.ArgumentError{Name: "serialize", Value: args["serialize"], Want: "true (or unset) for a store over a shared server"}
	}
	if opts.RedisClient != nil || opts.MemcacheClient != nil {
		opts.Mode = BytesMode
	}
	return New(s, opts)
}

// newGoCache is "gocache.go_cache": a patrickmn/go-cache in this process.
//
//	default_expiration  go-cache's default expiration: values are dropped
//	                    after it (default: never)
//	cleanup_interval    how often expired values are swept out (default:
//	                    default_expiration; 0: never, expired values are
//	                    then only skipped when read)
//	serialize           true keeps serialized bytes (isolated copies);
//	                    default false: Go values as they are
//	distributed_lock, lock_timeout, max_lock_attempts
//	                    checked, and accepted without effect (see
//	                    inProcessLockArgs): the region's in-process lock
//
// go-cache's own janitor goroutine would stop only when the cache is
// garbage collected, so the backend sweeps with its own goroutine instead,
// stopped by Close (the region's Close, or Configure replacing the backend).
func newGoCache(args region.Arguments) (region.Backend, error) {
	if err := inProcessLockArgs(args); err != nil {
		return nil, err
	}
	defExp, err := args.Duration("default_expiration", 0)
	if err != nil {
		return nil, err
	}
	cleanup, err := args.Duration("cleanup_interval", defExp)
	if err != nil {
		return nil, err
	}
	mode, err := modeArg(args)
	if err != nil {
		return nil, err
	}
	if defExp == 0 {
		defExp = gocache.NoExpiration
	}
	c := gocache.New(defExp, 0) // no janitor: see above
	sw := startSweeper(c, cleanup)
	b, err := newBackend(gocachestore.NewGoCache(c), Options{Mode: mode, OnClose: sw.stop}, c, goCacheClient{c})
	if err != nil {
		_ = sw.stop()
		return nil, err
	}
	return b, nil
}

// directClient is an in-process cache under a named backend's store, used
// directly: gocache's StoreInterface takes keys as any (an allocation per
// call for a string) and reports a miss with two allocated errors, where
// the client answers with a bool. The semantics are the store's.
type directClient interface {
	get(key string) (any, bool)
	set(key string, v any) bool // false: the value was dropped
	delete(key string)
}

// goCacheClient is what GoCacheStore does, without the interface costs.
type goCacheClient struct{ c *gocache.Cache }

func (g goCacheClient) get(key string) (any, bool) { return g.c.Get(key) }

func (g goCacheClient) set(key string, v any) bool {
	g.c.Set(key, v, gocache.DefaultExpiration)
	return true
}

func (g goCacheClient) delete(key string) { g.c.Delete(key) }

// ristrettoClient is what RistrettoStore does with WithCost and
// WithSynchronousSet, without the interface costs.
type ristrettoClient struct {
	c    *ristretto.Cache[string, any]
	cost func(any) int64
	ttl  time.Duration
}

func (r *ristrettoClient) get(key string) (any, bool) { return r.c.Get(key) }

func (r *ristrettoClient) set(key string, v any) bool {
	if !r.c.SetWithTTL(key, v, r.cost(v), r.ttl) {
		return false
	}
	r.c.Wait() // make the value visible to the next Get
	return true
}

func (r *ristrettoClient) delete(key string) { r.c.Del(key) }

// sweeper deletes a go-cache's expired values periodically until stopped.
type sweeper struct {
	done chan struct{}
	wg   sync.WaitGroup
	once sync.Once
}

func startSweeper(c *gocache.Cache, every time.Duration) *sweeper {
	s := &sweeper{done: make(chan struct{})}
	if every <= 0 {
		return s
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				c.DeleteExpired()
			case <-s.done:
				return
			}
		}
	}()
	return s
}

func (s *sweeper) stop() error {
	s.once.Do(func() { close(s.done) })
	s.wg.Wait()
	return nil
}

// newRistretto is "gocache.ristretto": a dgraph-io/ristretto cache in this
// process, bounded by cost.
//
//	max_cost      the bound. Each value costs 1, so it is a number of
//	              values (default 100000); with serialize=true a value
//	              costs its length, so it is a number of bytes (default 64 MiB)
//	num_counters  admission counters (default 10 x max_cost for values,
//	              max_cost / 100 for bytes: ten per expected entry)
//	buffer_items  ristretto's Get buffer size (default 64)
//	expiration    time-to-live of every value (default: none)
//	metrics       keep ristretto's metrics (default false)
//	serialize     true keeps serialized bytes; default false: Go values
//	distributed_lock, lock_timeout, max_lock_attempts
//	              checked, and accepted without effect (see
//	              inProcessLockArgs): the region's in-process lock
//
// Close closes the ristretto cache (its goroutines stop).
func newRistretto(args region.Arguments) (region.Backend, error) {
	if err := inProcessLockArgs(args); err != nil {
		return nil, err
	}
	mode, err := modeArg(args)
	if err != nil {
		return nil, err
	}
	bytesMode := mode == BytesMode
	defCost := int64(DefaultRistrettoMaxCost)
	if bytesMode {
		defCost = DefaultRistrettoMaxBytes
	}
	maxCost, err := positiveInt(args, "max_cost", defCost)
	if err != nil {
		return nil, err
	}
	defCounters := 10 * maxCost
	if bytesMode {
		defCounters = max(maxCost/100, 1000)
	}
	counters, err := positiveInt(args, "num_counters", defCounters)
	if err != nil {
		return nil, err
	}
	bufItems, err := positiveInt(args, "buffer_items", DefaultRistrettoBufferItems)
	if err != nil {
		return nil, err
	}
	exp, err := args.Duration("expiration", 0)
	if err != nil {
		return nil, err
	}
	metrics, err := args.Bool("metrics", false)
	if err != nil {
		return nil, err
	}
	rc, err := ristretto.NewCache(&ristretto.Config[string, any]{
		NumCounters:        counters,
		MaxCost:            maxCost,
		BufferItems:        bufItems,
		Metrics:            metrics,
		IgnoreInternalCost: true,
	})
	if err != nil {
		return nil, fmt.Errorf("gocache.ristretto: %w", err)
	}
	cost := func(any) int64 { return 1 }
	if bytesMode {
		cost = func(v any) int64 { return int64(len(v.([]byte))) }
	}
	closeCache := sync.OnceValue(func() error { rc.Close(); return nil })
	b, err := newBackend(ristrettostore.NewRistretto[string, any](rc), Options{
		Mode:       mode,
		Expiration: exp,
		Cost:       cost,
		OnClose:    closeCache,
	}, rc, &ristrettoClient{c: rc, cost: cost, ttl: exp})
	if err != nil {
		_ = closeCache()
		return nil, err
	}
	return b, nil
}

func positiveInt(args region.Arguments, name string, def int64) (int64, error) {
	n, err := args.Int(name, int(def))
	if err != nil {
		return 0, err
	}
	if n <= 0 {
		return 0, &region.ArgumentError{Name: name, Value: args[name], Want: "a positive integer"}
	}
	return int64(n), nil
}

// newRedis is "gocache.redis": a Redis server through go-redis.
//
//	url                redis://[user:password@]host:port[/db] (rediss:// for
//	                   TLS); or
//	addr               host:port (default 127.0.0.1:6379)
//	db                 database number (default 0, or the url's)
//	username, password credentials (default: the url's)
//	tls                true: connect with TLS (default false, or true for rediss://)
//	pool_size          most connections (go-redis's PoolSize; default 10 per CPU)
//	socket_timeout     read and write timeout (default 3s)
//	connect_timeout    dial timeout (default: socket_timeout)
//	max_retries        retries of a failed command (default 0: none)
//	expiration         Redis TTL of every value (default: none)
//	distributed_lock   hold the dogpile lock in Redis (default true)
//	lock_timeout       lifetime of a lock key (default 5s)
//	max_lock_attempts  bound on a waiting lock's attempts (default: none)
//
// Values are always bytes. Close closes the client.
//
// Unlike go-redis's defaults (3 retries of a failed command, 5 attempts per
// dial), a failed command or dial is not retried unless max_retries says so,
// so that a call on a stopped or hung server fails within socket_timeout
// (connect_timeout + socket_timeout when it has to open a connection), as
// with dogpile's redis-py backend. Each retry can add as much again. A
// caller's context deadline also bounds the socket reads and writes.
func newRedis(args region.Arguments) (region.Backend, error) {
	opts, err := redisOptions(args)
	if err != nil {
		return nil, err
	}
	exp, err := sharedStoreExpiration(args, "Redis")
	if err != nil {
		return nil, err
	}
	if exp > 0 && exp < time.Millisecond {
		return nil, &region.ArgumentError{Name: "expiration", Value: args["expiration"], Want: "zero or at least 1ms"}
	}
	locks, err := readLockArgs(args, true)
	if err != nil {
		return nil, err
	}
	client := redis.NewClient(opts)
	b, err := newBackend(redisstore.NewRedis(client, expirationOptions(exp)...), Options{
		Mode:        BytesMode,
		Expiration:  exp,
		ownStore:    true,
		RedisClient: client,
		Mutex:       locks.redis(client),
		OnClose:     client.Close,
	}, client, nil)
	if err != nil {
		_ = client.Close()
		return nil, err
	}
	return b, nil
}

func redisOptions(args region.Arguments) (*redis.Options, error) {
	url, err := args.String("url", "")
	if err != nil {
		return nil, err
	}
	addr, err := args.String("addr", "")
	if err != nil {
		return nil, err
	}
	var opts *redis.Options
	switch {
	case url != "" && addr != "":
		return nil, &region.ArgumentError{Name: "addr", Value: addr, Want: "unset when url is given"}
	case url != "":
		if opts, err = redis.ParseURL(url); err != nil {
			return nil, &region.ArgumentError{Name: "url", Value: url, Want: "a redis:// or rediss:// URL", Err: err}
		}
	default:
		if addr == "" {
			addr = DefaultRedisAddr
		}
		if _, _, err := net.SplitHostPort(addr); err != nil {
			return nil, &region.ArgumentError{Name: "addr", Value: addr, Want: "host:port", Err: err}
		}
		opts = &redis.Options{Addr: addr}
	}
	if opts.DB, err = args.Int("db", opts.DB); err != nil {
		return nil, err
	}
	if opts.DB < 0 {
		return nil, &region.ArgumentError{Name: "db", Value: args["db"], Want: "a database number of zero or more"}
	}
	if opts.Username, err = args.String("username", opts.Username); err != nil {
		return nil, err
	}
	if opts.Password, err = args.String("password", opts.Password); err != nil {
		return nil, err
	}
	useTLS, err := args.Bool("tls", opts.TLSConfig != nil)
	if err != nil {
		return nil, err
	}
	switch {
	case useTLS && opts.TLSConfig == nil:
		host, _, _ := net.SplitHostPort(opts.Addr)
		opts.TLSConfig = &tls.Config{ServerName: host, MinVersion: tls.VersionTLS12}
	case !useTLS:
		opts.TLSConfig = nil
	}
	if opts.PoolSize, err = args.Int("pool_size", opts.PoolSize); err != nil {
		return nil, err
	}
	if opts.PoolSize < 0 {
		return nil, &region.ArgumentError{Name: "pool_size", Value: args["pool_size"], Want: "a number of connections"}
	}
	// A url's query (?read_timeout=...&max_retries=...) gives defaults too.
	defSock := DefaultRedisSocketTimeout
	if opts.ReadTimeout > 0 {
		defSock = opts.ReadTimeout
	}
	sock, err := args.Duration("socket_timeout", defSock)
	if err != nil {
		return nil, err
	}
	if sock <= 0 {
		return nil, &region.ArgumentError{Name: "socket_timeout", Value: args["socket_timeout"], Want: "a positive duration"}
	}
	opts.ReadTimeout, opts.WriteTimeout = sock, sock
	opts.ContextTimeoutEnabled = true // the caller's deadline reaches the socket
	defDial := sock
	if url != "" && opts.DialTimeout > 0 && strings.Contains(url, "dial_timeout=") {
		defDial = opts.DialTimeout
	}
	if opts.DialTimeout, err = args.Duration("connect_timeout", defDial); err != nil {
		return nil, err
	}
	if opts.DialTimeout <= 0 {
		return nil, &region.ArgumentError{Name: "connect_timeout", Value: args["connect_timeout"], Want: "a positive duration"}
	}
	opts.DialerRetries = 1 // one attempt per dial
	retries, err := args.Int("max_retries", max(opts.MaxRetries, 0))
	if err != nil {
		return nil, err
	}
	switch {
	case retries < 0:
		return nil, &region.ArgumentError{Name: "max_retries", Value: args["max_retries"], Want: "zero (no retries) or more"}
	case retries == 0:
		opts.MaxRetries = -1 // go-redis's "none"
	default:
		opts.MaxRetries = retries
	}
	return opts, nil
}

// newMemcache is "gocache.memcache": memcached servers through gomemcache.
//
//	url                server list, "host:port,host:port" or a list
//	                   (default 127.0.0.1:11211)
//	expiration         memcached expiry of every value, whole seconds
//	                   (rounded up), at most 30 days (default: none)
//	socket_timeout     connect, read and write timeout of one server call
//	                   (default 3s, as the memcached backend; gomemcache's is 500ms)
//	max_idle_conns     idle connections kept per server (default 16)
//	distributed_lock   hold the dogpile lock in memcached (default true)
//	lock_timeout       lifetime of a lock item (default 5s; whole seconds)
//	max_lock_attempts  bound on a waiting lock's attempts (default: none)
//
// Values are always bytes. memcached keys are at most 250 bytes without
// spaces or control characters: give the region a key mangler
// (region.WithKeyMangler(region.SHA1MangleKey)) when keys may be longer.
// Close closes the client's connections.
func newMemcache(args region.Arguments) (region.Backend, error) {
	servers, err := args.Strings("url", []string{DefaultMemcacheURL})
	if err != nil {
		return nil, err
	}
	if len(servers) == 0 {
		return nil, &region.ArgumentError{Name: "url", Value: args["url"], Want: "at least one host:port"}
	}
	var sl memcache.ServerList
	if err := sl.SetServers(servers...); err != nil {
		return nil, &region.ArgumentError{Name: "url", Value: args["url"], Want: "host:port addresses", Err: err}
	}
	exp, err := sharedStoreExpiration(args, "memcached")
	if err != nil {
		return nil, err
	}
	if exp > memcachedMaxRelative {
		return nil, &region.ArgumentError{Name: "expiration", Value: args["expiration"], Want: "at most 30 days (memcached reads longer ones as dates)"}
	}
	exp = time.Duration(memcacheutil.Seconds(exp)) * time.Second // the store truncates
	timeout, err := args.Duration("socket_timeout", DefaultMemcacheSocketTimeout)
	if err != nil {
		return nil, err
	}
	if timeout <= 0 {
		return nil, &region.ArgumentError{Name: "socket_timeout", Value: args["socket_timeout"], Want: "a positive duration"}
	}
	idle, err := args.Int("max_idle_conns", DefaultMemcacheMaxIdleConns)
	if err != nil {
		return nil, err
	}
	if idle <= 0 {
		return nil, &region.ArgumentError{Name: "max_idle_conns", Value: args["max_idle_conns"], Want: "a positive number"}
	}
	locks, err := readLockArgs(args, true)
	if err != nil {
		return nil, err
	}
	client := memcache.NewFromSelector(&sl)
	client.Timeout = timeout
	client.MaxIdleConns = idle
	b, err := newBackend(memcachestore.NewMemcache(client, expirationOptions(exp)...), Options{
		Mode:           BytesMode,
		Expiration:     exp,
		MemcacheClient: client,
		memcacheSel:    &sl,
		Mutex:          locks.memcached(client),
		OnClose:        client.Close,
	}, client, nil)
	if err != nil {
		_ = client.Close()
		return nil, err
	}
	return b, nil
}

// sharedStoreExpiration reads the arguments every shared (byte) store
// takes: serialize, which cannot be false, and expiration.
func sharedStoreExpiration(args region.Arguments, server string) (time.Duration, error) {
	if mode, err := modeArg(args); err != nil {
		return 0, err
	} else if mode == ObjectMode {
		return 0, &region.ArgumentError{Name: "serialize", Value: args["serialize"], Want: "true (" + server + " keeps bytes)"}
	}
	return args.Duration("expiration", 0)
}

// expirationOptions are the store options for a store-side expiration
// (none when exp is not positive).
func expirationOptions(exp time.Duration) []store.Option {
	if exp <= 0 {
		return nil
	}
	return []store.Option{store.WithExpiration(exp)}
}
