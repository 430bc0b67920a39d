// Package memcacheutil holds what the memcached code of the module shares:
// the memcached backend (backends/memcache), the memcached lock
// (memcachedmutex.Mutex) and the gocache memcache backend
// (backends/gocache): the key rules, the expiration field, and the
// classification and retry of failed calls on gomemcache connections.
package memcacheutil

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"syscall"
	"time"

	"github.com/bradfitz/gomemcache/memcache"
)

// MaxKeyLength is memcached's limit on the length of a key, in bytes.
const MaxKeyLength = 250

// MaxRelativeExpiration is the longest expiration, in seconds, that
// memcached reads as relative to now (30 days); larger numbers are
// absolute Unix times.
const MaxRelativeExpiration = 30 * 24 * 60 * 60

// KeyProblem returns why memcached cannot store key ("" when it can):
// empty, longer than MaxKeyLength bytes, or containing anything but
// printable non-space ASCII (control characters, space, DEL and every byte
// of 0x80 or more are refused, as memcached's text protocol and
// gomemcache's legalKey do).
func KeyProblem(key string) string {
	switch {
	case key == "":
		return "empty"
	case len(key) > MaxKeyLength:
		return fmt.Sprintf("%d bytes long; memcached allows %d", len(key), MaxKeyLength)
	}
	for i := 0; i < len(key); i++ {
		if c := key[i]; c <= ' ' || c >= 0x7f {
			return fmt.Sprintf("byte %d is %q (memcached keys are printable ASCII without spaces)", i, c)
		}
	}
	return ""
}

// Seconds converts a lifetime to whole seconds, rounded up, capped at the
// largest int32; 0 for none (d <= 0).
func Seconds(d time.Duration) int32 {
	if d <= 0 {
		return 0
	}
	secs := (d + time.Second - 1) / time.Second
	if secs > 1<<31-1 {
		secs = 1<<31 - 1
	}
	return int32(secs)
}

// Expiration returns memcached's expiration field for a write whose value
// should live secs seconds from now: secs itself within memcached's
// relative range (MaxRelativeExpiration), else the absolute Unix time,
// capped at the largest int32. Zero and negative secs are returned as they
// are (none, and "expired now").
func Expiration(secs int64) int32 {
	if secs > MaxRelativeExpiration {
		abs := time.Now().Unix() + secs
		if abs > 1<<31-1 {
			abs = 1<<31 - 1
		}
		return int32(abs)
	}
	return int32(secs)
}

// StaleConn reports whether err is what a pooled connection to a server
// that has restarted (or dropped the connection) gives: the server closed
// it, so the call most likely never reached a live server and may be
// repeated on a new connection. gomemcache has already discarded that
// connection.
func StaleConn(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}

// Attempts returns how many times Retry makes a call on a client keeping
// maxIdleConns idle connections per server (zero or less: gomemcache's
// default): once per idle connection that may be stale, plus once on a
// new connection.
func Attempts(maxIdleConns int) int {
	if maxIdleConns <= 0 {
		maxIdleConns = memcache.DefaultMaxIdleConns
	}
	return maxIdleConns + 1
}

// Retry runs call, repeating it while it fails on a stale pooled
// connection (StaleConn), at most attempts times in all (see Attempts).
// Timeouts and refused connections are not repeated. retried reports
// whether call was repeated, so that callers can allow for a first attempt
// that reached the server after all. Only for calls that may be repeated.
func Retry(attempts int, call func() error) (retried bool, err error) {
	for i := range max(attempts, 1) {
		if err = call(); err == nil || !StaleConn(err) {
			return i > 0, err
		}
	}
	return true, err
}

// ConnError reports whether err says that the server could not be reached
// or did not answer in time (a refused, reset or timed-out connection, a
// connect timeout, a closed connection), as opposed to an answer from the
// server (a miss, not stored, a CAS conflict, a server error) or a
// refused key. After such an error, further calls to the same server are
// likely to fail the same way.
func ConnError(err error) bool {
	if err == nil {
		return false
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false // the caller's, not the server's
	}
	var cte *memcache.ConnectTimeoutError
	var ne net.Error
	return errors.As(err, &cte) || errors.As(err, &ne) || StaleConn(err) ||
		errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, net.ErrClosed)
}

// ErrAddr returns the server address a network error names, or "".
func ErrAddr(err error) string {
	var cte *memcache.ConnectTimeoutError
	if errors.As(err, &cte) && cte.Addr != nil {
		return cte.Addr.String()
	}
	var oe *net.OpError
	if errors.As(err, &oe) && oe.Addr != nil {
		return oe.Addr.String()
	}
	return ""
}

// KeysOn returns the keys that sel places on the server addr, in order.
// A nil sel (or a key it cannot place) places no key.
func KeysOn(sel memcache.ServerSelector, addr string, keys []string) []string {
	if sel == nil || addr == "" {
		return nil
	}
	var on []string
	for _, k := range keys {
		if a, err := sel.PickServer(k); err == nil && a.String() == addr {
			on = append(on, k)
		}
	}
	return on
}
