package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/dogpile-go/dogpile/internal/bench"
	"github.com/dogpile-go/dogpile/lockmutex"
	"github.com/dogpile-go/dogpile/lockmutex/memcachedmutex"
	"github.com/dogpile-go/dogpile/lockmutex/redismutex"
	"github.com/dogpile-go/dogpile/oslocache"
	"github.com/dogpile-go/dogpile/region"
)

const defaultTimeout = 10 * time.Second

// store resolves the store flags and opens (or reuses) its region.
func (a *App) store(sf *storeFlags) (*storeConfig, *region.Region, error) {
	sc, err := loadStore(*sf)
	if err != nil {
		return nil, nil, err
	}
	r, err := a.region(sc)
	if err != nil {
		return nil, nil, err
	}
	return sc, r, nil
}

// where names the store for messages: `backend memcached from [cache] in x.ini`.
func (sc *storeConfig) where() string {
	return fmt.Sprintf("backend %s from %s", sc.backend(), sc.source)
}

// inProcessNote explains, for backends that keep values in this process,
// why a new dogpile command finds nothing.
func (a *App) inProcessNote(sc *storeConfig) {
	if sc.oslo != nil && !sc.oslo.Enabled && sc.backend() == oslocache.NullBackend {
		fmt.Fprintf(a.stderr(), "dogpile: note: caching is disabled ([cache] enabled = false, from %s): the region uses %s, which stores nothing\n", sc.source, oslocache.NullBackend)
		return
	}
	if b := sc.backend(); b == "null" || b == oslocache.NullBackend {
		fmt.Fprintf(a.stderr(), "dogpile: note: backend %s stores nothing\n", b)
		return
	}
	if doc, known := docFor(sc.backend()); known && !doc.Shared && !doc.Refused {
		fmt.Fprintf(a.stderr(), "dogpile: note: backend %s keeps values inside this dogpile process only, so each command starts empty; use a shared backend such as memcached or gocache.redis (see 'dogpile backends')\n", sc.backend())
	}
}

const getLong = `Print the value of KEY in the configured store as one line of JSON.

A key that is absent, expired (older than the store's expiration_time) or
invalidated prints nothing on standard output, says which on standard error
("expired 0.5 s ago"), and gives exit status 1. --ignore-expiration prints
an expired value all the same.

A key holding bytes this program did not write (a value set by another
client, say "redis-cli set plain 'hello world'") is reported as "present,
not a dogpile value (11 bytes)" with exit status 3; --raw prints those
bytes.

Standard output is always valid JSON, except with --raw, which prints the
stored bytes exactly as they are on the server.`

// ExitForeign is get's exit status for a key that holds bytes this program
// cannot read as a dogpile value.
const ExitForeign = 3

func (a *App) getCmd(sf *storeFlags) *cobra.Command {
	var (
		meta      bool
		raw       bool
		ignoreExp bool
		timeout   time.Duration
	)
	cmd := &cobra.Command{
		Use:   "get KEY",
		Short: "Print a key's value as JSON (exit status 1 when absent or expired)",
		Long:  getLong,
		Example: `  dogpile get --config examples/memcached.ini user:42
  dogpile get --config examples/memcached.ini --meta user:42
  dogpile get --config examples/redis.ini --raw plain > plain.bin`,
		Args: exactArgs("KEY"),
		RunE: func(cmd *cobra.Command, args []string) error {
			key := args[0]
			if err := checkTimeout("get", timeout); err != nil {
				return err
			}
			if raw && meta {
				return userErrorf("get: --raw and --meta cannot be combined (--raw prints the stored bytes only)")
			}
			sc, r, err := a.store(sf)
			if err != nil {
				return err
			}
			g := getter{a: a, sc: sc, r: r, key: key, timeout: timeout, ignoreExp: ignoreExp}
			return g.run(cmd.Context(), meta, raw)
		},
	}
	f := cmd.Flags()
	f.BoolVar(&meta, "meta", false, "print a JSON object with the value, its creation time, age and expiry")
	f.BoolVar(&raw, "raw", false, "print the bytes stored under the key as they are (byte backends: memcached, Redis, ...)")
	f.BoolVar(&ignoreExp, "ignore-expiration", false, "print the value however old it is")
	f.DurationVar(&timeout, "timeout", defaultTimeout, "give up after this long (at most 24h)")
	return cmd
}

// valueMeta is what `get --meta` prints.
type valueMeta struct {
	Key           string  `json:"key"`
	Value         any     `json:"value"`
	CreatedAt     string  `json:"created_at"`
	AgeSeconds    float64 `json:"age_seconds"`
	ExpiresAt     string  `json:"expires_at,omitempty"`
	Expired       bool    `json:"expired"`
	FormatVersion int     `json:"format_version"`
	Backend       string  `json:"backend"`
}

func (a *App) setCmd(sf *storeFlags) *cobra.Command {
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "set [flags] KEY JSON",
		Short: "Store a JSON value under a key",
		Long: `Store the JSON value under KEY in the configured store, created now.
Strings need JSON quotes ('"text"'); "-" reads the value from standard input
(at most 64 MiB).

Every number is stored exactly or refused: integers from -2^63 to 2^64-1 are
stored as integers; other numbers as 64-bit floats when the float is exactly
the number written (1.5, 0.1, 1e300). 1e400 (beyond a float) or
0.1000000000000000000001 (more digits than a float keeps) are refused, as
they would read back as another number.`,
		Example: `  dogpile set --config examples/memcached.ini user:42 '{"name": "Ada", "admin": true}'
  dogpile set --config examples/memcached.ini greeting '"hello"'
  echo '[1, 2, 3]' | dogpile set --config examples/memcached.ini numbers -`,
		Args: exactArgs("KEY", "JSON"),
		RunE: func(cmd *cobra.Command, args []string) error {
			key, text := args[0], args[1]
			if err := checkTimeout("set", timeout); err != nil {
				return err
			}
			if text == "-" {
				b, err := io.ReadAll(io.LimitReader(a.stdin(), maxStdinValue+1))
				if err != nil {
					return userErrorf("set %s: reading the value from standard input: %v", key, err)
				}
				if len(b) > maxStdinValue {
					return userErrorf("set %s: the value on standard input is larger than %d MiB, the most set - reads", key, maxStdinValue>>20)
				}
				text = string(b)
			}
			v, err := parseJSONValue(text)
			if err != nil {
				var ne *numberError
				if errors.As(err, &ne) {
					return userErrorf("set %s: %v", key, ne)
				}
				return userErrorf(`set %s: the value is not JSON: %v (strings need quotes: '"text"')`, key, err)
			}
			sc, r, err := a.store(sf)
			if err != nil {
				return err
			}
			err = a.call(cmd.Context(), sc, timeout, func(ctx context.Context) error { return r.Set(ctx, key, v) })
			if err != nil {
				return err
			}
			a.inProcessNote(sc)
			return nil
		},
	}
	cmd.Flags().DurationVar(&timeout, "timeout", defaultTimeout, "give up after this long (at most 24h)")
	// Flags go before KEY, so that a negative number is a value, not a
	// flag: dogpile set n -5.
	cmd.Flags().SetInterspersed(false)
	return cmd
}

// maxStdinValue is the largest value `set KEY -` reads.
const maxStdinValue = 64 << 20

func (a *App) deleteCmd(sf *storeFlags) *cobra.Command {
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:     "delete KEY",
		Aliases: []string{"del", "rm"},
		Short:   "Delete a key (deleting an absent key is not an error)",
		Args:    exactArgs("KEY"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkTimeout("delete", timeout); err != nil {
				return err
			}
			sc, r, err := a.store(sf)
			if err != nil {
				return err
			}
			return a.call(cmd.Context(), sc, timeout, func(ctx context.Context) error { return r.Delete(ctx, args[0]) })
		},
	}
	cmd.Flags().DurationVar(&timeout, "timeout", defaultTimeout, "give up after this long (at most 24h)")
	return cmd
}

const lockLong = `Take the dogpile lock of KEY, the lock that lets one caller create the key's
value: the backend's lock (a memcached or Redis lock, shared by every process
using the server) or, for backends without one, an in-process lock that only
this dogpile process sees.

Without --hold the lock is taken and released at once: exit status 0 means it
was free. With --hold it is kept that long (extended before its lock_timeout
runs out) and then released; Ctrl-C releases it early. --check only reports
whether the lock is held (exit status 1 when it is).`

func (a *App) lockCmd(sf *storeFlags) *cobra.Command {
	var (
		hold    time.Duration
		wait    bool
		check   bool
		timeout time.Duration
	)
	cmd := &cobra.Command{
		Use:   "lock KEY",
		Short: "Take a key's dogpile lock and report (exit status 1 when held elsewhere)",
		Long:  lockLong,
		Example: `  dogpile lock --config examples/memcached.ini --hold 30s report:daily
  dogpile lock --config examples/memcached.ini --check report:daily`,
		Args: exactArgs("KEY"),
		RunE: func(cmd *cobra.Command, args []string) error {
			key := args[0]
			if err := checkTimeout("lock", timeout); err != nil {
				return err
			}
			if hold < 0 || hold > maxTimeout {
				return userErrorf("lock --hold %s: out of range: want 0 (release at once) to %s", bench.FormatDuration(hold), bench.FormatDuration(maxTimeout))
			}
			if hold > 0 && check {
				return userErrorf("lock: --hold and --check cannot be combined (--check does not take the lock)")
			}
			sc, r, err := a.store(sf)
			if err != nil {
				return err
			}
			m, kind := a.mutexFor(r, key)
			ctx := cmd.Context()
			out := a.stdout()
			if check {
				var locked bool
				err := a.call(ctx, sc, timeout, func(ctx context.Context) (err error) {
					locked, err = m.Locked(ctx)
					return err
				})
				if err != nil {
					return err
				}
				if locked {
					fmt.Fprintf(out, "key %q: locked (%s)\n", key, kind)
					return &exitError{code: ExitNegative}
				}
				fmt.Fprintf(out, "key %q: not locked (%s)\n", key, kind)
				return nil
			}
			var got bool
			err = a.call(ctx, sc, timeout, func(actx context.Context) (err error) {
				got, err = m.Acquire(actx, wait)
				return err
			})
			if err != nil {
				var ee *exitError
				if wait && errors.As(err, &ee) && ee.timedOut {
					return negativef("lock for key %q is still held by someone else after %s (%s)", key, bench.FormatDuration(timeout), kind)
				}
				return err
			}
			if !got {
				return negativef("lock for key %q is held by someone else (%s)", key, kind)
			}
			start := time.Now()
			fmt.Fprintf(out, "acquired lock for key %q (%s)\n", key, kind)
			interrupted := false
			var holdErr error
			if hold > 0 {
				fmt.Fprintf(out, "holding it for %s\n", bench.FormatDuration(hold))
				interrupted, holdErr = holdLock(ctx, m, hold)
			}
			// Release even when interrupted, but briefly then: the
			// command must end promptly on Ctrl-C.
			relTimeout := timeout
			if ctx.Err() != nil {
				relTimeout = min(timeout, releaseAfterInterrupt)
			}
			relErr := a.call(context.WithoutCancel(ctx), sc, relTimeout, func(rctx context.Context) error { return m.Release(rctx) })
			switch {
			case holdErr != nil:
				return explain(fmt.Errorf("while holding the lock for key %q: %w", key, holdErr), sc)
			case errors.Is(relErr, lockmutex.ErrLockLost):
				return userErrorf("the lock for key %q expired after its lock_timeout and was taken by someone else before it was released", key)
			case relErr != nil:
				return relErr
			}
			fmt.Fprintf(out, "released lock for key %q after %s\n", key, bench.FormatDuration(time.Since(start).Round(time.Millisecond)))
			if interrupted {
				return &exitError{code: ExitInterrupted, msg: "interrupted"}
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.DurationVar(&hold, "hold", 0, "keep the lock this long before releasing it (0s to 24h)")
	f.BoolVarP(&wait, "wait", "w", false, "wait (up to --timeout) for the lock instead of failing at once")
	f.BoolVar(&check, "check", false, "only report whether the lock is held")
	f.DurationVar(&timeout, "timeout", defaultTimeout, "longest wait for the server, and for the lock with --wait (at most 24h)")
	return cmd
}

// mutexFor returns the lock the region would use for key's creation, and
// what kind it is.
func (a *App) mutexFor(r *region.Region, key string) (region.Mutex, string) {
	mkey := key
	if mg := r.KeyMangler(); mg != nil {
		mkey = mg(key)
	}
	m := r.Backend().GetMutex(mkey)
	if m == nil {
		return a.lockRegistry().Mutex(mkey), "in-process lock: it excludes only this dogpile process"
	}
	switch m := m.(type) {
	case *memcachedmutex.Mutex:
		if m.LockTimeout() == 0 {
			return m, fmt.Sprintf("memcached lock item %s, no expiry (lock_timeout 0)", m.LockKey())
		}
		return m, fmt.Sprintf("memcached lock item %s, lock_timeout %s", m.LockKey(), m.LockTimeout())
	case *redismutex.Mutex:
		return m, fmt.Sprintf("Redis lock key %s, lock_timeout %s", m.LockKey(), m.LockTimeout())
	}
	return m, fmt.Sprintf("the backend's own lock, %T", m)
}

// holdLock keeps a lock for d, extending it before its timeout when the
// lock can be extended. It reports whether ctx ended first.
func holdLock(ctx context.Context, m region.Mutex, d time.Duration) (interrupted bool, err error) {
	type extender interface {
		Extend(context.Context) error
		LockTimeout() time.Duration
	}
	done := time.NewTimer(d)
	defer done.Stop()
	var tick <-chan time.Time
	ext, canExtend := m.(extender)
	if canExtend && ext.LockTimeout() > 0 && ext.LockTimeout() < d {
		t := time.NewTicker(max(ext.LockTimeout()/2, 10*time.Millisecond))
		defer t.Stop()
		tick = t.C
	}
	for {
		select {
		case <-done.C:
			return false, nil
		case <-ctx.Done():
			return true, nil
		case <-tick:
			if err := await(ctx, ext.Extend); err != nil {
				if ctx.Err() != nil {
					return true, nil
				}
				return false, err
			}
		}
	}
}
