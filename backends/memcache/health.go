package memcache

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"

	gomemcache "github.com/bradfitz/gomemcache/memcache"
)

// ErrServerDown: a call for a key whose server failed recently was not
// sent, because the server is skipped for a while (dead_retry, or
// pymemcache's hashclient_retry_timeout). The error is a *ServerError
// wrapping a *DownError naming the server and until when it is skipped.
var ErrServerDown = errors.New("memcache: server marked down after a failure")

// DownError reports a server skipped after a failure. It matches
// ErrServerDown.
type DownError struct {
	Addr  string    // the server
	Until time.Time // when it is tried again
	// Setting names the argument that decides the pause: dead_retry, or
	// pymemcache's hashclient_retry_timeout or hashclient_dead_timeout.
	Setting string
}

// Error names the server, until when it is skipped and the setting that
// decides it.
func (e *DownError) Error() string {
	return fmt.Sprintf("memcache: server %s failed and is skipped until %s (%s)", e.Addr, e.Until.Format(time.RFC3339Nano), e.Setting)
}

// Is matches ErrServerDown.
func (e *DownError) Is(target error) bool { return target == ErrServerDown }

// deadPolicy is what happens to the keys of a server that failed (could
// not be connected to, or did not answer within socket_timeout).
type deadPolicy int

const (
	// deadFailFast: the keys fail at once, without a call, for dead_retry;
	// then the server is tried again (the project's own names).
	deadFailFast deadPolicy = iota
	// deadRehash: python-memcached's: the server is skipped for dead_retry
	// and its keys go to the server its rehash loop picks next.
	deadRehash
	// deadHashClient: pymemcache HashClient's: after a failure the
	// server's keys fail at once for hashclient_retry_timeout, then one
	// call retries it; after hashclient_retry_attempts further failures
	// the server leaves the rendezvous hash (its keys go to the others)
	// for hashclient_dead_timeout.
	deadHashClient
)

// healthConfig configures server failure handling.
type healthConfig struct {
	policy           deadPolicy
	deadRetry        time.Duration // deadFailFast, deadRehash; <= 0: off
	retryAttempts    int           // deadHashClient
	retryTimeout     time.Duration // deadHashClient
	deadTimeout      time.Duration // deadHashClient
	flushOnReconnect bool
}

// health tracks the servers that failed. The dialer it wraps reports
// failures (a refused or timed-out connection, a read or write past its
// deadline) and successful reads; the selector it wraps skips or refuses
// the failed servers. While every server is well, the selector pays one
// atomic load per key.
type health struct {
	cfg    healthConfig
	marked atomic.Int32 // servers with a mark (dead or failing)
	mu     sync.Mutex
	state  map[string]*serverState // by address
	// exclude tells the Python selectors that server i is out until until
	// (their rehash loop or rendezvous set skips it).
	exclude func(i int, until time.Time)
	// flush empties a server (flush_on_reconnect).
	flush func(addr net.Addr) error
	now   func() time.Time
}

type serverState struct {
	index     int       // in the selector's order, for exclude
	until     time.Time // dead (skipped or refused) until then
	failing   bool      // deadHashClient: failed, not yet removed
	failures  int       // deadHashClient: failures since the first
	failedAt  time.Time // deadHashClient: last failure
	suspect   atomic.Bool
	needFlush bool
}

func newHealth(cfg healthConfig, addrs []net.Addr, exclude func(int, time.Time)) *health {
	h := &health{cfg: cfg, state: map[string]*serverState{}, exclude: exclude, now: time.Now}
	for i, a := range addrs {
		h.state[a.String()] = &serverState{index: i}
	}
	return h
}

func (h *health) stateOf(addr string) *serverState {
	st := h.state[addr]
	if st == nil {
		st = &serverState{index: -1}
		h.state[addr] = st
	}
	return st
}

// admit decides whether a call may go to addr (the server the selector
// picked); it returns a *DownError when the call must fail at once.
func (h *health) admit(a net.Addr) error {
	if h.marked.Load() == 0 {
		return nil
	}
	addr := a.String()
	now := h.now()
	h.mu.Lock()
	st := h.state[addr]
	if st == nil {
		h.mu.Unlock()
		return nil
	}
	var err error
	switch {
	case !st.until.IsZero() && now.Before(st.until):
		// Dead. The Python selectors do not pick a dead server unless
		// every candidate is dead; fail at once then too.
		setting := "dead_retry"
		if h.cfg.policy == deadHashClient {
			setting = "hashclient_dead_timeout"
		}
		err = &DownError{Addr: addr, Until: st.until, Setting: setting}
	case !st.until.IsZero():
		st.until = time.Time{} // back: try it again
		if !st.failing {
			h.marked.Add(-1)
		}
	case st.failing && now.Sub(st.failedAt) <= h.cfg.retryTimeout:
		err = &DownError{Addr: addr, Until: st.failedAt.Add(h.cfg.retryTimeout), Setting: "hashclient_retry_timeout"}
	}
	flush := err == nil && st.needFlush
	if flush {
		st.needFlush = false
	}
	h.mu.Unlock()
	if flush && h.flush != nil {
		// python-memcached flushes a server it reconnects to after a
		// dead period, so no value written before the outage (and
		// overwritten on another server meanwhile) is served again.
		if ferr := h.flush(a); ferr != nil {
			return ferr
		}
	}
	return err
}

// failed records a failure of the server at addr.
func (h *health) failed(addr string) {
	now := h.now()
	h.mu.Lock()
	defer h.mu.Unlock()
	st := h.stateOf(addr)
	wasMarked := !st.until.IsZero() || st.failing
	switch h.cfg.policy {
	case deadFailFast, deadRehash:
		if h.cfg.deadRetry <= 0 {
			return
		}
		st.until = now.Add(h.cfg.deadRetry)
		st.needFlush = st.needFlush || h.cfg.flushOnReconnect
		if h.cfg.policy == deadRehash && h.exclude != nil && st.index >= 0 {
			h.exclude(st.index, st.until)
		}
	case deadHashClient:
		if !st.until.IsZero() && now.Before(st.until) {
			return // already out of the hash
		}
		switch {
		case !st.failing:
			st.failing, st.failures, st.failedAt = true, 0, now
		case now.Sub(st.failedAt) > h.cfg.retryTimeout:
			// A retry after the pause failed: one more attempt used.
			// (Calls in flight together count once.)
			st.failures++
			st.failedAt = now
		}
		if st.failures >= h.cfg.retryAttempts {
			st.failing = false
			st.until = now.Add(h.cfg.deadTimeout)
			st.needFlush = st.needFlush || h.cfg.flushOnReconnect
			if h.exclude != nil && st.index >= 0 {
				h.exclude(st.index, st.until)
			}
		}
		st.suspect.Store(st.failing)
	}
	if !wasMarked && (!st.until.IsZero() || st.failing) {
		h.marked.Add(1)
	}
}

// ok records a successful read from the server at addr: a failing
// (not removed) pymemcache server is well again.
func (h *health) ok(addr string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	st := h.state[addr]
	if st == nil || !st.failing {
		return
	}
	st.failing = false
	st.suspect.Store(false)
	if st.until.IsZero() {
		h.marked.Add(-1)
	}
}

// dialer wraps dial so that failures are recorded.
func (h *health) dialer(dial func(ctx context.Context, network, address string) (net.Conn, error)) func(ctx context.Context, network, address string) (net.Conn, error) {
	return func(ctx context.Context, network, address string) (net.Conn, error) {
		c, err := dial(ctx, network, address)
		if err != nil {
			h.failed(address)
			return nil, err
		}
		return &healthConn{Conn: c, h: h, addr: address, st: h.lookup(address)}, nil
	}
}

func (h *health) lookup(addr string) *serverState {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.stateOf(addr)
}

// healthConn reports reads and writes that pass their deadline (a server
// that hangs) and, for a suspect server, the first successful read.
type healthConn struct {
	net.Conn
	h    *health
	addr string
	st   *serverState
}

func (c *healthConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	switch {
	case err != nil && isTimeout(err):
		c.h.failed(c.addr)
	case n > 0 && c.st.suspect.Load():
		c.h.ok(c.addr)
	}
	return n, err
}

func (c *healthConn) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	if err != nil && isTimeout(err) {
		c.h.failed(c.addr)
	}
	return n, err
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// healthSelector puts health's decisions in front of a selector.
type healthSelector struct {
	inner gomemcache.ServerSelector
	h     *health
}

func (s *healthSelector) PickServer(key string) (net.Addr, error) {
	a, err := s.inner.PickServer(key)
	if err != nil {
		return nil, err
	}
	if err := s.h.admit(a); err != nil {
		return nil, err
	}
	return a, nil
}

func (s *healthSelector) Each(f func(net.Addr) error) error { return s.inner.Each(f) }

// oneServer is a selector of a single address (for flush_all on one server).
type oneServer struct{ a net.Addr }

func (o oneServer) PickServer(string) (net.Addr, error) { return o.a, nil }
func (o oneServer) Each(f func(net.Addr) error) error   { return f(o.a) }
