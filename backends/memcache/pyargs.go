package memcache

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/dogpile-go/dogpile/region"
)

// The dogpile.cache and oslo.cache memcached backend names registered by
// this package, besides its own "memcached" and "openstack.kvs.Memcached".
const (
	NameDogpileMemcached  = "dogpile.cache.memcached"  // python-memcached
	NameDogpilePymemcache = "dogpile.cache.pymemcache" // pymemcache HashClient
	NameOsloMemcachePool  = "oslo_cache.memcache_pool" // oslo.cache's pool of python-memcached clients
	NameDogpilePylibmc    = "dogpile.cache.pylibmc"    // refused: see ErrUnsupportedBackend
	NameDogpileBmemcached = "dogpile.cache.bmemcached" // refused: see ErrUnsupportedBackend
)

// ErrUnsupportedBackend: a dogpile.cache backend name whose wire format
// this package cannot match exactly (dogpile.cache.pylibmc,
// dogpile.cache.bmemcached) or an argument that needs what gomemcache
// cannot do (SASL: a *region.RefusedArgumentError naming the argument).
// The message says what is missing and what to use
// instead. It also matches region.ErrBadArgument.
var ErrUnsupportedBackend = errors.New("memcache: not supported by the Go memcached client")

type unsupportedError struct{ msg string }

func (e *unsupportedError) Error() string { return e.msg }
func (e *unsupportedError) Is(target error) bool {
	return target == ErrUnsupportedBackend || target == region.ErrBadArgument
}

// Arguments each dogpile.cache name accepts. Every name also accepts the
// arguments oslo.cache passes to any memcached backend (oslo's
// memcache_* options), so that a keystone.conf working in Python works in
// Go; what has no effect here is listed in docs/memcached.md.
var (
	// osloPassed are passed by oslo.cache's configure_cache_region to
	// every memcached backend.
	osloPassed = []string{"dead_retry", "socket_timeout", "pool_maxsize", "pool_unused_timeout",
		"pool_connection_get_timeout", "pool_flush_on_reconnect", "sasl_enabled", "username", "password"}
	genericArgs = []string{"url", "distributed_lock", "lock_timeout", "memcached_expire_time",
		"max_idle_conns", "max_item_size", "tls_context"}

	// DogpileMemcachedArguments are dogpile.cache.memcached's arguments.
	DogpileMemcachedArguments = concat(genericArgs, osloPassed, []string{"min_compress_len"})
	// OsloMemcachePoolArguments are oslo_cache.memcache_pool's arguments.
	OsloMemcachePoolArguments = concat(genericArgs, osloPassed, []string{"min_compress_len", "server_max_value_length"})
	// DogpilePymemcacheArguments are dogpile.cache.pymemcache's arguments.
	DogpilePymemcacheArguments = concat(genericArgs, osloPassed, []string{
		"serde", "default_noreply", "socket_keepalive",
		"enable_retry_client", "retry_attempts", "retry_delay", "retry_for", "do_not_retry_for",
		"hashclient_retry_attempts", "hashclient_retry_timeout", "hashclient_dead_timeout",
		// What oslo.cache passes with enable_retry_client under names
		// dogpile.cache 1.1 does not read.
		"hashclient_retry_delay", "dead_timeout",
	})
)

func concat(lists ...[]string) []string {
	var out []string
	for _, l := range lists {
		out = append(out, l...)
	}
	return out
}

func init() {
	region.RegisterBackend(NameDogpileMemcached, func(args region.Arguments) (region.Backend, error) {
		opts, err := DogpileMemcachedOptions(args)
		if err != nil {
			return nil, err
		}
		return NewPython(opts)
	})
	region.RegisterBackend(NameOsloMemcachePool, func(args region.Arguments) (region.Backend, error) {
		opts, err := OsloMemcachePoolOptions(args)
		if err != nil {
			return nil, err
		}
		return NewPython(opts)
	})
	region.RegisterBackend(NameDogpilePymemcache, func(args region.Arguments) (region.Backend, error) {
		opts, err := DogpilePymemcacheOptions(args)
		if err != nil {
			return nil, err
		}
		return NewPython(opts)
	})
	region.RegisterBackend(NameDogpilePylibmc, func(region.Arguments) (region.Backend, error) {
		return nil, &unsupportedError{msg: "memcache: " + NameDogpilePylibmc + " cannot be matched in Go: " +
			"pylibmc places keys with libmemcached's hashing and distribution behaviours and stores values with its own flags " +
			"(its own pickle, bool and zlib flags), none of which the Go client reproduces; a Go region would miss Python's values " +
			"and take its locks on other servers. Run the Python services with dogpile.cache.memcached (python-memcached) " +
			"or dogpile.cache.pymemcache and configure Go with the same name"}
	})
	region.RegisterBackend(NameDogpileBmemcached, func(region.Arguments) (region.Backend, error) {
		return nil, &unsupportedError{msg: "memcache: " + NameDogpileBmemcached + " cannot be matched in Go: " +
			"python-binary-memcached speaks memcached's binary protocol (with SASL authentication), which the Go client " +
			"(gomemcache, text protocol only) does not. Run the Python services with dogpile.cache.pymemcache " +
			"(TLS through tls_context) or dogpile.cache.memcached and configure Go with the same name"}
	})
}

// commonOptions reads the arguments every dogpile.cache name shares.
func commonOptions(args region.Arguments, o *PythonOptions, deadRetry time.Duration) error {
	var err error
	if o.Servers, err = serverList(args); err != nil {
		return err
	}
	if o.DistributedLock, err = args.Bool("distributed_lock", false); err != nil {
		return err
	}
	if o.LockTimeout, err = args.Duration("lock_timeout", 0); err != nil {
		return err
	}
	if o.ExpireTime, err = args.Duration("memcached_expire_time", 0); err != nil {
		return err
	}
	// Both Python clients send whole seconds: python-memcached truncates
	// (0.5 would mean no expiry), pymemcache refuses anything else.
	for name, d := range map[string]time.Duration{"lock_timeout": o.LockTimeout, "memcached_expire_time": o.ExpireTime} {
		if d%time.Second != 0 {
			return &region.ArgumentError{Name: name, Value: args[name],
				Want: "a whole number of seconds (memcached takes seconds; python-memcached would truncate it, pymemcache refuses it)"}
		}
	}
	if o.SocketTimeout, err = args.Duration("socket_timeout", DefaultSocketTimeout); err != nil {
		return err
	}
	if o.SocketTimeout == 0 {
		return &region.ArgumentError{Name: "socket_timeout", Value: args["socket_timeout"], Want: "a timeout above zero"}
	}
	if o.DeadRetry, err = args.Duration("dead_retry", deadRetry); err != nil {
		return err
	}
	if o.DeadRetry == 0 {
		o.DeadRetry = -1 // dead_retry 0: never skip a server, as python-memcached
	}
	if o.MaxIdleConns, err = args.Int("max_idle_conns", 0); err != nil {
		return err
	}
	if o.MaxIdleConns < 0 {
		return &region.ArgumentError{Name: "max_idle_conns", Value: args["max_idle_conns"], Want: "an integer of zero or more"}
	}
	if o.MaxItemSize, err = args.Int("max_item_size", 0); err != nil {
		return err
	}
	if o.MaxItemSize < 0 || (o.MaxItemSize > 0 && o.MaxItemSize <= ItemOverhead+MaxKeyLength) {
		return &region.ArgumentError{Name: "max_item_size", Value: args["max_item_size"], Want: fmt.Sprintf("a size in bytes above %d", ItemOverhead+MaxKeyLength)}
	}
	// tls_context: oslo.cache passes it with tls_enabled to any backend.
	// pymemcache uses it; python-memcached ignores it (so a Python
	// dogpile.cache.memcached or memcache_pool service connects without
	// TLS), but a Go region asked for TLS connects with TLS.
	switch v := args["tls_context"].(type) {
	case nil:
	case *tls.Config:
		o.TLSConfig = v
	default:
		return &region.ArgumentError{Name: "tls_context", Value: v, Want: "a *tls.Config"}
	}
	// Passed by oslo.cache to every memcached backend; kept by the Python
	// backends that use them (see OsloMemcachePoolOptions), accepted
	// without effect by the others, as in Python.
	for _, name := range []string{"pool_maxsize", "pool_unused_timeout", "pool_connection_get_timeout"} {
		if _, err := args.Float(name, 0); err != nil {
			return err
		}
	}
	if _, err := args.Bool("pool_flush_on_reconnect", false); err != nil {
		return err
	}
	return refuseSASL(o.Name, args)
}

// refuseSASL refuses sasl_enabled=true and a username or password: SASL
// needs memcached's binary protocol.
func refuseSASL(backend string, args region.Arguments) error {
	sasl, err := args.Bool("sasl_enabled", false)
	if err != nil {
		return err
	}
	user, err := args.String("username", "")
	if err != nil {
		return err
	}
	pass, err := args.String("password", "")
	if err != nil {
		return err
	}
	name := ""
	switch {
	case sasl:
		name = "sasl_enabled"
	case user != "":
		name = "username"
	case pass != "":
		name = "password"
	}
	if name != "" {
		return &region.RefusedArgumentError{Backend: backend, Name: name, Kind: ErrUnsupportedBackend,
			Reason: "sasl_enabled, username and password ask for SASL authentication, which needs " +
				"memcached's binary protocol; the Go client (gomemcache) speaks the text protocol only. Use TLS instead " +
				"(dogpile.cache.pymemcache with tls_context) or a memcached without SASL"}
	}
	return nil
}

// serverList reads url: a comma-separated string, a list of strings, or a
// list whose items are strings, WeightedServer values or two-item
// ["host:port", weight] lists (python-memcached's weighted tuples).
func serverList(args region.Arguments) ([]WeightedServer, error) {
	bad := func(err error) error {
		return &region.ArgumentError{Name: "url", Value: args["url"], Want: "server addresses: a string (comma-separated) or a list", Err: err}
	}
	var out []WeightedServer
	switch v := args["url"].(type) {
	case nil:
		return nil, fmt.Errorf("%w: give the server addresses in the url argument", ErrNoServers)
	case []WeightedServer:
		out = append(out, v...)
	case []any:
		for _, item := range v {
			switch x := item.(type) {
			case string:
				out = append(out, WeightedServer{Addr: x, Weight: 1})
			case WeightedServer:
				out = append(out, x)
			case []any:
				if len(x) != 2 {
					return nil, bad(fmt.Errorf("%v: a weighted server is [address, weight]", x))
				}
				addr, ok := x[0].(string)
				w, err := region.Arguments{"weight": x[1]}.Int("weight", 0)
				if !ok || err != nil {
					return nil, bad(fmt.Errorf("%v: a weighted server is [address, weight]", x))
				}
				out = append(out, WeightedServer{Addr: addr, Weight: w})
			default:
				return nil, bad(fmt.Errorf("list item %#v", item))
			}
		}
	default:
		list, err := args.Strings("url", nil)
		if err != nil {
			return nil, err
		}
		for _, s := range list {
			out = append(out, WeightedServer{Addr: s, Weight: 1})
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%w: the url argument names no server", ErrNoServers)
	}
	for _, s := range out {
		if s.Weight < 1 {
			return nil, bad(fmt.Errorf("server %q: weight %d, want 1 or more", s.Addr, s.Weight))
		}
	}
	return out, nil
}

// DogpileMemcachedOptions reads dogpile.cache.memcached's arguments
// (DogpileMemcachedArguments), with dogpile.cache 1.1's defaults:
// distributed_lock false, lock_timeout 0 (no expiry), memcached_expire_time
// 0, min_compress_len 0, dead_retry 30s, socket_timeout 3s.
func DogpileMemcachedOptions(args region.Arguments) (PythonOptions, error) {
	o := PythonOptions{Name: NameDogpileMemcached, Client: PythonMemcached}
	if err := args.CheckKnown(NameDogpileMemcached, DogpileMemcachedArguments...); err != nil {
		return o, err
	}
	if err := commonOptions(args, &o, 30*time.Second); err != nil {
		return o, err
	}
	var err error
	if o.MinCompressLen, err = nonNegativeInt(args, "min_compress_len"); err != nil {
		return o, err
	}
	return o, nil
}

// OsloMemcachePoolOptions reads oslo_cache.memcache_pool's arguments
// (OsloMemcachePoolArguments), with oslo.cache's defaults: those of
// dogpile.cache.memcached, but dead_retry 300s (the pool's own default);
// pool_maxsize, when given, is the number of idle connections kept per
// server; server_max_value_length the item size limit;
// pool_flush_on_reconnect flushes a server coming back from dead.
func OsloMemcachePoolOptions(args region.Arguments) (PythonOptions, error) {
	o := PythonOptions{Name: NameOsloMemcachePool, Client: PythonMemcached}
	if err := args.CheckKnown(NameOsloMemcachePool, OsloMemcachePoolArguments...); err != nil {
		return o, err
	}
	if err := commonOptions(args, &o, 300*time.Second); err != nil {
		return o, err
	}
	var err error
	if o.MinCompressLen, err = nonNegativeInt(args, "min_compress_len"); err != nil {
		return o, err
	}
	if args.Has("pool_maxsize") && !args.Has("max_idle_conns") {
		if o.MaxIdleConns, err = nonNegativeInt(args, "pool_maxsize"); err != nil {
			return o, err
		}
	}
	if args.Has("server_max_value_length") && !args.Has("max_item_size") {
		n, err := nonNegativeInt(args, "server_max_value_length")
		if err != nil {
			return o, err
		}
		if n > 0 { // python-memcached: 0 means no limit; keep the default
			o.MaxItemSize = n + ItemOverhead + MaxKeyLength
		}
	}
	if o.FlushOnReconnect, err = args.Bool("pool_flush_on_reconnect", false); err != nil {
		return o, err
	}
	return o, nil
}

// DogpilePymemcacheOptions reads dogpile.cache.pymemcache's arguments
// (DogpilePymemcacheArguments), with dogpile.cache 1.1's defaults:
// hashclient_retry_attempts 2, hashclient_retry_timeout 1s,
// hashclient_dead_timeout 60s, no retry client. An explicit 0 (or a
// negative value) for a hashclient_* argument means 0, as in pymemcache,
// and is -1 in the PythonOptions returned. serde, retry_for and
// do_not_retry_for name Python objects and are refused unless nil;
// tls_context takes a *tls.Config and socket_keepalive a
// net.KeepAliveConfig (or a pointer to one).
func DogpilePymemcacheOptions(args region.Arguments) (PythonOptions, error) {
	o := PythonOptions{Name: NameDogpilePymemcache, Client: Pymemcache}
	if err := args.CheckKnown(NameDogpilePymemcache, DogpilePymemcacheArguments...); err != nil {
		return o, err
	}
	if err := commonOptions(args, &o, 30*time.Second); err != nil {
		return o, err
	}
	for _, name := range []string{"serde", "retry_for", "do_not_retry_for"} {
		if args.Has(name) {
			return o, &region.RefusedArgumentError{Backend: NameDogpilePymemcache, Name: name,
				Reason: "it names Python objects (a pymemcache serde, exception classes) that have no Go counterpart; " +
					"leave it unset (the Go backend writes pymemcache's default pickle_serde format and retries server errors only)"}
		}
	}
	if _, err := args.Bool("default_noreply", false); err != nil {
		return o, err
	}
	switch v := args["socket_keepalive"].(type) {
	case nil:
	case net.KeepAliveConfig:
		o.KeepAlive = &v
	case *net.KeepAliveConfig:
		o.KeepAlive = v
	default:
		return o, &region.ArgumentError{Name: "socket_keepalive", Value: v, Want: "a net.KeepAliveConfig or *net.KeepAliveConfig"}
	}
	retryOn, err := args.Bool("enable_retry_client", false)
	if err != nil {
		return o, err
	}
	attempts, err := args.Int("retry_attempts", 0)
	if err != nil {
		return o, err
	}
	delay, err := args.Duration("retry_delay", 0)
	if err != nil {
		return o, err
	}
	switch {
	case retryOn && attempts < 1:
		return o, &region.ArgumentError{Name: "retry_attempts", Value: args["retry_attempts"], Want: "1 or more when enable_retry_client is true"}
	case !retryOn && (args.Has("retry_attempts") || args.Has("retry_delay")):
		return o, &region.ArgumentError{Name: "enable_retry_client", Value: args["enable_retry_client"],
			Want: "true when retry_attempts or retry_delay is given (dogpile.cache ignores them otherwise, with a warning)"}
	case retryOn:
		o.RetryAttempts, o.RetryDelay = attempts, delay
	}
	// pymemcache honours 0 (and treats a negative value as 0): in
	// PythonOptions that is a negative value, zero being the default.
	if o.HashclientRetryAttempts, err = args.Int("hashclient_retry_attempts", 2); err != nil {
		return o, err
	}
	if o.HashclientRetryTimeout, err = args.Duration("hashclient_retry_timeout", time.Second); err != nil {
		return o, err
	}
	if o.HashclientDeadTimeout, err = args.Duration("hashclient_dead_timeout", 60*time.Second); err != nil {
		return o, err
	}
	o.HashclientRetryAttempts = pymemcacheZero(o.HashclientRetryAttempts)
	o.HashclientRetryTimeout = pymemcacheZero(o.HashclientRetryTimeout)
	o.HashclientDeadTimeout = pymemcacheZero(o.HashclientDeadTimeout)
	// oslo.cache's names for the last two, which dogpile.cache 1.1 does
	// not read: accepted (checked) without effect, as in Python.
	if _, err := args.Duration("hashclient_retry_delay", 0); err != nil {
		return o, err
	}
	if _, err := args.Duration("dead_timeout", 0); err != nil {
		return o, err
	}
	return o, nil
}

// pymemcacheZero maps a HashClient setting of zero or less (0 for
// pymemcache) to -1 (0 for PythonOptions, whose zero is the default).
func pymemcacheZero[T int | time.Duration](v T) T {
	if v <= 0 {
		return -1
	}
	return v
}

func nonNegativeInt(args region.Arguments, name string) (int, error) {
	n, err := args.Int(name, 0)
	if err != nil {
		return 0, err
	}
	if n < 0 {
		return 0, &region.ArgumentError{Name: name, Value: args[name], Want: "an integer of zero or more"}
	}
	return n, nil
}
