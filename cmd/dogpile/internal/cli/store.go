package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/dogpile-go/dogpile/lockmutex"
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
	if doc, known := docFor(sc.backend()); known && !doc.Shared {
		fmt.Fprintf(a.stderr(), "dogpile: note: backend %s keeps values inside this dogpile process only, so each command starts empty; use a shared backend such as memcached or gocache.redis (see 'dogpile backends')\n", sc.backend())
	}
}

func (a *App) getCmd(sf *storeFlags) *cobra.Command {
	var (
		meta      bool
		ignoreExp bool
		timeout   time.Duration
	)
	cmd := &cobra.Command{
		Use:   "get KEY",
		Short: "Print a key's value as JSON (exit status 1 when absent)",
		Long: `Print the value of KEY in the configured store as JSON, one line.
A key that is absent, expired (older than the store's expiration_time) or
invalidated prints nothing and gives exit status 1.`,
		Example: `  dogpile get --config examples/memcached.ini user:42
  dogpile get --config examples/memcached.ini --meta user:42`,
		Args: exactArgs("KEY"),
		RunE: func(cmd *cobra.Command, args []string) error {
			key := args[0]
			sc, r, err := a.store(sf)
			if err != nil {
				return err
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), timeout)
			defer cancel()
			var opts []region.CallOption
			if ignoreExp {
				opts = append(opts, region.IgnoreExpiration())
			}
			cv, err := r.GetValueMetadata(ctx, key, opts...)
			if err != nil {
				return explain(err, sc)
			}
			if cv == nil {
				a.inProcessNote(sc)
				return negativef("key %q not found (%s)", key, sc.where())
			}
			if !meta {
				return writeJSON(a.stdout(), cv.Payload)
			}
			out := valueMeta{
				Key:           key,
				Value:         jsonable(cv.Payload),
				CreatedAt:     cv.Metadata.CreatedAt.UTC().Format(time.RFC3339Nano),
				AgeSeconds:    roundSeconds(time.Since(cv.Metadata.CreatedAt)),
				FormatVersion: cv.Metadata.Version,
				Backend:       sc.backend(),
			}
			if exp := r.ExpirationTime(); exp > 0 {
				out.ExpiresAt = cv.Metadata.CreatedAt.Add(exp).UTC().Format(time.RFC3339Nano)
			}
			return writeJSON(a.stdout(), out)
		},
	}
	f := cmd.Flags()
	f.BoolVar(&meta, "meta", false, "print an object with the value, its creation time and age")
	f.BoolVar(&ignoreExp, "ignore-expiration", false, "print the value however old it is")
	f.DurationVar(&timeout, "timeout", defaultTimeout, "give up after this long")
	return cmd
}

// valueMeta is what `get --meta` prints.
type valueMeta struct {
	Key           string  `json:"key"`
	Value         any     `json:"value"`
	CreatedAt     string  `json:"created_at"`
	AgeSeconds    float64 `json:"age_seconds"`
	ExpiresAt     string  `json:"expires_at,omitempty"`
	FormatVersion int     `json:"format_version"`
	Backend       string  `json:"backend"`
}

func (a *App) setCmd(sf *storeFlags) *cobra.Command {
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "set KEY JSON",
		Short: "Store a JSON value under a key",
		Long: `Store the JSON value under KEY in the configured store, created now.
Strings need JSON quotes ('"text"'); "-" reads the value from standard input.
Numbers without a fraction are stored as integers.`,
		Example: `  dogpile set --config examples/memcached.ini user:42 '{"name": "Ada", "admin": true}'
  dogpile set --config examples/memcached.ini greeting '"hello"'
  echo '[1, 2, 3]' | dogpile set --config examples/memcached.ini numbers -`,
		Args: exactArgs("KEY", "JSON"),
		RunE: func(cmd *cobra.Command, args []string) error {
			key, text := args[0], args[1]
			if text == "-" {
				b, err := io.ReadAll(io.LimitReader(a.stdin(), 64<<20))
				if err != nil {
					return userErrorf("set %s: reading the value from standard input: %v", key, err)
				}
				text = string(b)
			}
			v, err := parseJSONValue(text)
			if err != nil {
				return userErrorf(`set %s: the value is not JSON: %v (strings need quotes: '"text"')`, key, err)
			}
			sc, r, err := a.store(sf)
			if err != nil {
				return err
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), timeout)
			defer cancel()
			if err := r.Set(ctx, key, v); err != nil {
				return explain(err, sc)
			}
			a.inProcessNote(sc)
			return nil
		},
	}
	cmd.Flags().DurationVar(&timeout, "timeout", defaultTimeout, "give up after this long")
	return cmd
}

func (a *App) deleteCmd(sf *storeFlags) *cobra.Command {
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:     "delete KEY",
		Aliases: []string{"del", "rm"},
		Short:   "Delete a key (deleting an absent key is not an error)",
		Args:    exactArgs("KEY"),
		RunE: func(cmd *cobra.Command, args []string) error {
			sc, r, err := a.store(sf)
			if err != nil {
				return err
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), timeout)
			defer cancel()
			if err := r.Delete(ctx, args[0]); err != nil {
				return explain(err, sc)
			}
			return nil
		},
	}
	cmd.Flags().DurationVar(&timeout, "timeout", defaultTimeout, "give up after this long")
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
			sc, r, err := a.store(sf)
			if err != nil {
				return err
			}
			m, kind := a.mutexFor(r, key)
			ctx := cmd.Context()
			out := a.stdout()
			if check {
				cctx, cancel := context.WithTimeout(ctx, timeout)
				defer cancel()
				locked, err := m.Locked(cctx)
				if err != nil {
					return explain(err, sc)
				}
				if locked {
					fmt.Fprintf(out, "key %q: locked (%s)\n", key, kind)
					return &exitError{code: ExitNegative}
				}
				fmt.Fprintf(out, "key %q: not locked (%s)\n", key, kind)
				return nil
			}
			actx, cancel := context.WithTimeout(ctx, timeout)
			defer cancel()
			got, err := m.Acquire(actx, wait)
			if err != nil {
				if wait && errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil {
					return negativef("lock for key %q is still held by someone else after %s (%s)", key, timeout, kind)
				}
				return explain(err, sc)
			}
			if !got {
				return negativef("lock for key %q is held by someone else (%s)", key, kind)
			}
			start := time.Now()
			fmt.Fprintf(out, "acquired lock for key %q (%s)\n", key, kind)
			interrupted := false
			var holdErr error
			if hold > 0 {
				fmt.Fprintf(out, "holding it for %s\n", hold)
				interrupted, holdErr = holdLock(ctx, m, hold)
			}
			rctx, rcancel := context.WithTimeout(context.WithoutCancel(ctx), timeout)
			defer rcancel()
			relErr := m.Release(rctx)
			switch {
			case holdErr != nil:
				return explain(fmt.Errorf("while holding the lock for key %q: %w", key, holdErr), sc)
			case errors.Is(relErr, lockmutex.ErrLockLost):
				return userErrorf("the lock for key %q expired after its lock_timeout and was taken by someone else before it was released", key)
			case relErr != nil:
				return explain(relErr, sc)
			}
			fmt.Fprintf(out, "released lock for key %q after %s\n", key, time.Since(start).Round(time.Millisecond))
			if interrupted {
				return &exitError{code: ExitInterrupted, msg: "interrupted"}
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.DurationVar(&hold, "hold", 0, "keep the lock this long before releasing it")
	f.BoolVarP(&wait, "wait", "w", false, "wait (up to --timeout) for the lock instead of failing at once")
	f.BoolVar(&check, "check", false, "only report whether the lock is held")
	f.DurationVar(&timeout, "timeout", defaultTimeout, "longest wait for the server (and for the lock with --wait)")
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
	case *lockmutex.MemcachedMutex:
		if m.LockTimeout() == 0 {
			return m, fmt.Sprintf("memcached lock item %s, no expiry (lock_timeout 0)", m.LockKey())
		}
		return m, fmt.Sprintf("memcached lock item %s, lock_timeout %s", m.LockKey(), m.LockTimeout())
	case *lockmutex.RedisMutex:
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
			if err := ext.Extend(ctx); err != nil {
				if ctx.Err() != nil {
					return true, nil
				}
				return false, err
			}
		}
	}
}

// parseJSONValue decodes one JSON value; numbers without a fraction or
// exponent become int64, others float64.
func parseJSONValue(text string) (any, error) {
	dec := json.NewDecoder(strings.NewReader(text))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, errors.New("empty value")
		}
		return nil, err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, errors.New("more than one value")
	}
	return convertNumbers(v), nil
}

func convertNumbers(v any) any {
	switch x := v.(type) {
	case json.Number:
		if !strings.ContainsAny(x.String(), ".eE") {
			if n, err := x.Int64(); err == nil {
				return n
			}
		}
		f, _ := x.Float64()
		return f
	case map[string]any:
		for k, e := range x {
			x[k] = convertNumbers(e)
		}
	case []any:
		for i, e := range x {
			x[i] = convertNumbers(e)
		}
	}
	return v
}

// writeJSON prints v as one line of JSON. Maps with non-string keys (as a
// decoder may give) are printed with their keys as strings; a value JSON
// cannot show is printed with %v.
func writeJSON(w io.Writer, v any) error {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(jsonable(v)); err != nil {
		buf.Reset()
		fmt.Fprintf(&buf, "%q\n", fmt.Sprintf("%v", v))
	}
	_, err := w.Write(buf.Bytes())
	return err
}

func jsonable(v any) any {
	switch x := v.(type) {
	case map[any]any:
		m := make(map[string]any, len(x))
		for k, e := range x {
			m[fmt.Sprint(k)] = jsonable(e)
		}
		return m
	case map[string]any:
		m := make(map[string]any, len(x))
		for k, e := range x {
			m[k] = jsonable(e)
		}
		return m
	case []any:
		s := make([]any, len(x))
		for i, e := range x {
			s[i] = jsonable(e)
		}
		return s
	}
	return v
}

func roundSeconds(d time.Duration) float64 {
	return float64(d.Round(time.Millisecond)) / float64(time.Second)
}
