package memcache

import (
	"context"
	"fmt"
	"net"
	"time"

	gomemcache "github.com/bradfitz/gomemcache/memcache"

	"github.com/dogpile-go/dogpile/region"
)

// This file holds the memcached backend's options and how they are read
// from region arguments.

// Arguments are the names of the memcached backend's arguments (see the
// package documentation); OptionsFromArguments refuses any other.
var Arguments = []string{
	"url", "server_selector", "memcached_expire_time", "distributed_lock", "lock_timeout",
	"max_lock_attempts", "socket_timeout", "max_idle_conns", "max_item_size", "dead_retry",
}

// Options configure a memcached Backend. OptionsFromArguments builds them
// from region arguments; New takes them directly.
type Options struct {
	// Servers are the server addresses ("host:port" or a Unix socket
	// path). Required, unless Selector is given.
	Servers []string

	// ServerSelector names how keys are spread over Servers
	// (server_selector): SelectorModulo ("modulo", gomemcache's CRC-32
	// modulo the number of servers; also what "" means) or SelectorKetama
	// ("ketama", consistent hashing with KetamaSelector, so adding or
	// removing one of N servers moves about 1/N of the keys). Ignored when
	// Selector is given.
	ServerSelector string

	// Selector, when not nil, picks the server for each key instead of
	// the one named by ServerSelector (for example a KetamaSelector whose
	// servers the program changes at run time with SetServers). Servers
	// and ServerSelector are then ignored.
	Selector gomemcache.ServerSelector

	// ExpireTime is the server-side lifetime of every value written
	// (memcached_expire_time). Zero: values stay until evicted or deleted.
	// Rounded up to whole seconds.
	ExpireTime time.Duration

	// DistributedLock makes GetMutex return a memcached lock, so that one
	// creator runs per key across every process using the servers. When
	// false, GetMutex returns nil and the region uses its in-process lock.
	DistributedLock bool

	// LockTimeout is the lifetime of a lock item (zero: 5s, see
	// lockmutex.DefaultLockTimeout).
	LockTimeout time.Duration

	// MaxLockAttempts bounds the attempts of a waiting Acquire (zero:
	// unlimited, until the caller's context ends).
	MaxLockAttempts int

	// SocketTimeout is the connect, read and write timeout of each server
	// call (zero: DefaultSocketTimeout).
	SocketTimeout time.Duration

	// MaxIdleConns is the number of idle connections kept per server
	// (zero: DefaultMaxIdleConns).
	MaxIdleConns int

	// MaxItemSize is the servers' item size limit (zero:
	// DefaultMaxItemSize). Values that do not fit are refused before
	// anything is sent.
	MaxItemSize int

	// DialContext, when not nil, opens connections to the servers (for
	// example with TLS, for memcached started with --enable-ssl).
	DialContext func(ctx context.Context, network, address string) (net.Conn, error)

	// DeadRetry is how long a server that failed (refused or timed-out
	// connection, no answer within SocketTimeout) is skipped: calls for
	// its keys fail at once with an error matching ErrServerDown, then the
	// server is tried again. Zero: DefaultDeadRetry; negative: never
	// skipped (every call for its keys tries it).
	DeadRetry time.Duration

	// keyProblem, when set, replaces memcacheutil.KeyProblem as the key
	// rule (the dogpile.cache backends apply their Python client's rules).
	keyProblem func(string) string

	// health, when its policy is not deadFailFast, replaces DeadRetry's
	// fail-fast handling (the dogpile.cache backends' Python behaviours).
	health *healthConfig
}

// OptionsFromArguments reads the memcached backend's arguments (see the
// package documentation). It does not modify args. An argument it does not
// know is refused (region.UnknownArgumentError), where dogpile.cache would
// ignore it: a misspelt lock_timeout must not go unnoticed.
func OptionsFromArguments(args region.Arguments) (Options, error) {
	var o Options
	if err := args.CheckKnown("memcached", Arguments...); err != nil {
		return o, err
	}
	var err error
	if o.Servers, err = args.Strings("url", nil); err != nil {
		return o, err
	}
	if o.ServerSelector, err = args.String("server_selector", ""); err != nil {
		return o, err
	}
	if err := checkSelector(o.ServerSelector, args["server_selector"]); err != nil {
		return o, err
	}
	if o.ExpireTime, err = args.Duration("memcached_expire_time", 0); err != nil {
		return o, err
	}
	if o.DistributedLock, err = args.Bool("distributed_lock", true); err != nil {
		return o, err
	}
	if o.LockTimeout, err = args.Duration("lock_timeout", 0); err != nil {
		return o, err
	}
	if o.MaxLockAttempts, err = args.Int("max_lock_attempts", 0); err != nil {
		return o, err
	}
	if o.MaxLockAttempts < 0 {
		return o, &region.ArgumentError{Name: "max_lock_attempts", Value: args["max_lock_attempts"], Want: "an integer of zero or more"}
	}
	if o.SocketTimeout, err = args.Duration("socket_timeout", 0); err != nil {
		return o, err
	}
	if o.MaxIdleConns, err = args.Int("max_idle_conns", 0); err != nil {
		return o, err
	}
	if o.MaxIdleConns < 0 {
		return o, &region.ArgumentError{Name: "max_idle_conns", Value: args["max_idle_conns"], Want: "an integer of zero or more"}
	}
	if o.DeadRetry, err = args.Duration("dead_retry", DefaultDeadRetry); err != nil {
		return o, err
	}
	if o.DeadRetry == 0 {
		o.DeadRetry = -1 // dead_retry 0: never skip a server
	}
	if o.MaxItemSize, err = args.Int("max_item_size", 0); err != nil {
		return o, err
	}
	if o.MaxItemSize < 0 || (o.MaxItemSize > 0 && o.MaxItemSize <= ItemOverhead+MaxKeyLength) {
		return o, &region.ArgumentError{Name: "max_item_size", Value: args["max_item_size"], Want: fmt.Sprintf("a size in bytes above %d", ItemOverhead+MaxKeyLength)}
	}
	return o, nil
}
