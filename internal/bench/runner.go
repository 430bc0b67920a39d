package bench

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/eko/gocache/lib/v4/cache"
	"github.com/eko/gocache/lib/v4/store"
	gocachestore "github.com/eko/gocache/store/go_cache/v4"
	gocache "github.com/patrickmn/go-cache"

	"github.com/dogpile-go/dogpile/region"
)

// abandonAfter is how long an interrupted run waits for callers stuck in a
// server call before it reports without them.
const abandonAfter = 500 * time.Millisecond

// staleTolerance absorbs the gap between the creator's timestamp (taken
// when it returns) and the region's (taken just after, when it stores).
const staleTolerance = 2 * time.Millisecond

// value is what the creator makes: which key, and when (Unix nanoseconds),
// so a caller can tell whether it was served a stale value. Its fields are
// exported for the serializers of byte backends.
type value struct {
	Key       int   `msgpack:"k" json:"k"`
	CreatedAt int64 `msgpack:"t" json:"t"`
}

// getter is one strategy's read path.
type getter interface {
	get(ctx context.Context, k int) (value, error)
	close()
}

// runner runs one strategy's workload in this process.
type runner struct {
	spec  workerSpec
	w     Workload
	proc  int
	keys  []string
	g     getter
	start time.Time // the common start, for expiry windows

	creatorCalls atomic.Uint64
	windowMu     sync.Mutex
	windows      map[keyWindow]uint64

	bgErrors   atomic.Uint64
	firstMu    sync.Mutex
	firstError string

	reg    *region.Region // region strategies: for deleting the keys afterwards
	shared *sharedStore   // baselines on a shared store: for deleting the keys afterwards

	touched []atomic.Bool // keys asked for at least once
}

type keyWindow struct{ Key, Window int }

func newRunner(ctx context.Context, spec workerSpec, proc int) (*runner, error) {
	w := spec.Workload.workload()
	if err := w.Validate(); err != nil {
		return nil, err
	}
	r := &runner{spec: spec, w: w, proc: proc, windows: map[keyWindow]uint64{}, touched: make([]atomic.Bool, w.Keys)}
	r.keys = make([]string, w.Keys)
	for k := range r.keys {
		r.keys[k] = keyName(spec.RunID, spec.Strategy, k)
	}
	var err error
	switch spec.Strategy {
	case CacheAside, Loadable:
		if r.shared, err = openShared(spec.Backend, w.Expiration); err != nil {
			return nil, err
		}
		if r.shared != nil {
			if err := probeRegion(ctx, r.shared.reg, spec.RunID, 10*time.Second); err != nil {
				r.shared.close()
				return nil, err
			}
		}
		if spec.Strategy == CacheAside {
			r.g = newCacheAside(r)
		} else {
			r.g = newLoadable(r)
		}
	case Region, RegionAsync:
		r.g, err = newRegionGetter(ctx, r, spec.Strategy == RegionAsync)
	default:
		err = fmt.Errorf("unknown strategy %q", spec.Strategy)
	}
	if err != nil {
		return nil, err
	}
	return r, nil
}

func (r *runner) close() {
	r.g.close()
	if r.shared != nil {
		r.shared.close()
	}
}

func (r *runner) noteError(msg string) {
	r.firstMu.Lock()
	if r.firstError == "" {
		r.firstError = msg
	}
	r.firstMu.Unlock()
}

// create is the creator every strategy calls: it counts the call in its
// key's expiry window, takes CreatorLatency, and stamps the value.
func (r *runner) create(ctx context.Context, k int) (value, error) {
	now := time.Now()
	r.creatorCalls.Add(1)
	win := int(now.Sub(r.start) / r.w.Expiration)
	r.windowMu.Lock()
	r.windows[keyWindow{k, win}]++
	r.windowMu.Unlock()
	if r.w.CreatorLatency > 0 {
		t := time.NewTimer(r.w.CreatorLatency)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return value{}, ctx.Err()
		}
	}
	return value{Key: k, CreatedAt: time.Now().UnixNano()}, nil
}

// callerStats is what one caller goroutine counts.
type callerStats struct {
	hist     histogram
	requests uint64
	stale    uint64
	errors   uint64
	firstErr string
}

// run runs the workload until Duration has passed since it was called, or
// until ctx ends: then the callers stop at once and the counts so far are
// returned, marked Interrupted. start is the common start of every
// process, for the expiry windows.
func (r *runner) run(ctx context.Context, start time.Time) *stats {
	r.start = start
	var stop atomic.Bool
	began := time.Now()
	timer := time.AfterFunc(r.w.Duration, func() { stop.Store(true) })
	defer timer.Stop()
	quit := context.AfterFunc(ctx, func() { stop.Store(true) })
	defer quit()

	// Each caller hands its counts over when it stops. When ctx ends, a
	// caller stuck in a server call that ignores ctx (a hung memcached
	// server holds a gomemcache call for its whole socket_timeout) is not
	// waited for beyond abandonAfter: its counts are left out.
	n := r.w.Goroutines
	finished := make(chan *callerStats, n)
	for i := range n {
		seed := uint64(time.Now().UnixNano())
		go func() {
			cs := &callerStats{}
			r.caller(ctx, &stop, cs, rand.New(rand.NewPCG(seed, uint64(r.proc)<<32|uint64(i))))
			finished <- cs
		}()
	}
	callers := make([]*callerStats, 0, n)
	ctxDone := ctx.Done()
	var giveUp <-chan time.Time
collect:
	for len(callers) < n {
		select {
		case cs := <-finished:
			callers = append(callers, cs)
		case <-ctxDone:
			ctxDone = nil
			t := time.NewTimer(abandonAfter)
			defer t.Stop()
			giveUp = t.C
		case <-giveUp:
			break collect
		}
	}
	elapsed := time.Since(began)

	st := &stats{ElapsedNS: int64(elapsed), StartOffsetNS: int64(began.Sub(start)), Interrupted: ctx.Err() != nil,
		Abandoned: n - len(callers)}
	for k := range r.touched {
		if r.touched[k].Load() {
			st.Touched = append(st.Touched, k)
		}
	}
	var h histogram
	for _, cs := range callers {
		h.merge(&cs.hist)
		st.Requests += cs.requests
		st.Stale += cs.stale
		st.Errors += cs.errors
		if st.FirstError == "" && cs.firstErr != "" {
			st.FirstError = cs.firstErr
		}
	}
	// Background regenerations still running belong to this run (when
	// interrupted, only those that end soon).
	if a, ok := r.g.(interface{ wait(time.Duration) }); ok {
		limit := time.Duration(0)
		if st.Interrupted {
			limit = abandonAfter
		}
		a.wait(limit)
	}
	st.Hist = h.sparse()
	st.CreatorCalls = r.creatorCalls.Load()
	st.Errors += r.bgErrors.Load()
	if st.FirstError == "" {
		r.firstMu.Lock()
		st.FirstError = r.firstError
		r.firstMu.Unlock()
	}
	r.windowMu.Lock()
	for kw, n := range r.windows {
		st.Windows = append(st.Windows, windowCount{Key: kw.Key, Window: kw.Window, Calls: n})
	}
	r.windowMu.Unlock()
	return st
}

func (r *runner) caller(ctx context.Context, stop *atomic.Bool, cs *callerStats, rng *rand.Rand) {
	var z *rand.Zipf
	if r.w.Keys > 1 {
		z = rand.NewZipf(rng, r.w.ZipfS, 1, uint64(r.w.Keys-1))
	}
	staleAfter := int64(r.w.Expiration + staleTolerance)
	// Independent clients are not in step: each caller starts at a random
	// point of its first think time, rather than all in the same instant.
	if r.w.Think > 0 {
		time.Sleep(time.Duration(rng.Int64N(int64(r.w.Think))))
	}
	for !stop.Load() {
		k := 0
		if z != nil {
			k = int(z.Uint64())
		}
		t0 := time.Now()
		v, err := r.g.get(ctx, k)
		t1 := time.Now()
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			cs.errors++
			if cs.firstErr == "" {
				cs.firstErr = err.Error()
			}
			continue
		}
		cs.hist.record(t1.Sub(t0))
		cs.requests++
		if !r.touched[k].Load() {
			r.touched[k].Store(true)
		}
		if t1.UnixNano()-v.CreatedAt > staleAfter {
			cs.stale++
		}
		if r.w.Think > 0 {
			time.Sleep(r.w.Think)
		}
	}
}

// deleteKeys removes the run's keys from a shared backend.
func (r *runner) deleteKeys(ctx context.Context) {
	switch {
	case r.reg != nil:
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_ = r.reg.DeleteMulti(dctx, r.keys)
	case r.shared != nil:
		r.shared.deleteKeys(ctx, r.keys)
	}
}

// --- cache-aside: a raw client -------------------------------------------

// cacheAside is what a program without the dogpile lock does: read; on a
// miss (or a value older than the expiration) run the creator and write.
// In-process it is a raw patrickmn/go-cache; on a shared store a raw
// gomemcache or go-redis client over the configured servers.
type cacheAside struct {
	r *runner
	c *gocache.Cache // in-process
}

func newCacheAside(r *runner) *cacheAside {
	if r.shared != nil {
		return &cacheAside{r: r}
	}
	// No janitor goroutine (cleanup interval 0): expired values read as
	// missing anyway.
	return &cacheAside{r: r, c: gocache.New(r.w.Expiration, 0)}
}

func (c *cacheAside) get(ctx context.Context, k int) (value, error) {
	key := c.r.keys[k]
	if c.c != nil {
		if v, ok := c.c.Get(key); ok {
			return v.(value), nil
		}
	} else {
		b, ok, err := c.r.shared.get(ctx, key)
		if err != nil {
			return value{}, err
		}
		if ok {
			v, err := decodeValue(b)
			if err != nil {
				return value{}, err
			}
			// The server keeps the value a little longer (memcached counts
			// whole seconds); it is fresh for Expiration, as in the region.
			if time.Now().UnixNano()-v.CreatedAt <= int64(c.r.w.Expiration) {
				return v, nil
			}
		}
	}
	v, err := c.r.create(ctx, k)
	if err != nil {
		return value{}, err
	}
	if c.c != nil {
		c.c.Set(key, v, gocache.DefaultExpiration)
		return v, nil
	}
	return v, c.r.shared.set(ctx, key, encodeValue(v), c.r.w.Expiration+time.Second)
}

func (c *cacheAside) close() {}

// --- eko/gocache loadable cache ------------------------------------------

// loadable is eko/gocache's LoadableCache: in-process over its go-cache
// store, on a shared store over its memcache or redis store with the same
// client as the region.
type loadable struct {
	r     *runner
	c     *cache.LoadableCache[any]
	index map[string]int
}

func newLoadable(r *runner) *loadable {
	l := &loadable{r: r, index: make(map[string]int, len(r.keys))}
	for k, name := range r.keys {
		l.index[name] = k
	}
	var st store.StoreInterface
	exp := r.w.Expiration
	if r.shared != nil {
		st = r.shared.gocacheStore()
		exp = r.shared.storeExpiration(exp)
	} else {
		st = gocachestore.NewGoCache(gocache.New(r.w.Expiration, 0))
	}
	load := func(ctx context.Context, key any) (any, []store.Option, error) {
		name, _ := key.(string)
		k, ok := l.index[name]
		if !ok {
			return nil, nil, fmt.Errorf("unknown key %v", key)
		}
		v, err := r.create(ctx, k)
		if err != nil {
			return nil, nil, err
		}
		var out any = v
		if r.shared != nil {
			out = encodeValue(v)
		}
		return out, []store.Option{store.WithExpiration(exp)}, nil
	}
	l.c = cache.NewLoadable[any](load, cache.New[any](st))
	return l
}

func (l *loadable) get(ctx context.Context, k int) (value, error) {
	v, err := l.c.Get(ctx, l.r.keys[k])
	if err != nil {
		return value{}, err
	}
	switch x := v.(type) {
	case value:
		return x, nil
	case []byte:
		return decodeValue(x)
	case string: // the redis store reads strings
		return decodeValue([]byte(x))
	}
	return value{}, fmt.Errorf("loadable cache returned %T", v)
}

func (l *loadable) close() { _ = l.c.Close() }

// --- region.GetOrCreate --------------------------------------------------

type regionGetter struct {
	r    *runner
	reg  *region.Region
	jobs sync.WaitGroup
}

func newRegionGetter(ctx context.Context, r *runner, async bool) (*regionGetter, error) {
	g := &regionGetter{r: r}
	opts := []region.Option{region.WithErrorHandler(func(_ context.Context, _ string, err error) {
		r.bgErrors.Add(1)
		r.noteError(err.Error())
	})}
	if async {
		opts = append(opts, region.WithAsyncCreationRunner(func(_ string, job func()) {
			g.jobs.Go(job)
		}))
	}
	g.reg = region.New("dogpile-bench-"+string(r.spec.Strategy), opts...)
	if err := r.spec.Backend.configure(g.reg, r.w.Expiration); err != nil {
		return nil, err
	}
	r.reg = g.reg
	if err := probeRegion(ctx, g.reg, r.spec.RunID, 10*time.Second); err != nil {
		_ = g.reg.Close()
		return nil, err
	}
	return g, nil
}

func (g *regionGetter) get(ctx context.Context, k int) (value, error) {
	return region.GetOrCreateAs(ctx, g.reg, g.r.keys[k], func(ctx context.Context) (value, error) {
		return g.r.create(ctx, k)
	})
}

// wait waits for the background regenerations, at most limit when limit
// is positive.
func (g *regionGetter) wait(limit time.Duration) {
	if limit <= 0 {
		g.jobs.Wait()
		return
	}
	done := make(chan struct{})
	go func() { g.jobs.Wait(); close(done) }()
	t := time.NewTimer(limit)
	defer t.Stop()
	select {
	case <-done:
	case <-t.C:
	}
}

func (g *regionGetter) close() {
	g.wait(abandonAfter) // run waited already, unless it was interrupted
	_ = g.reg.Close()
}

// --- probing and cleaning the backend ------------------------------------

// BackendError is a failure to use the configured backend before the run:
// configuring it or a first read (a server that cannot be reached, say).
type BackendError struct {
	Backend string
	Err     error
}

// Error returns `backend "NAME": ` and the underlying error.
func (e *BackendError) Error() string { return fmt.Sprintf("backend %q: %v", e.Backend, e.Err) }

// Unwrap returns the underlying error.
func (e *BackendError) Unwrap() error { return e.Err }

// probe configures a region on the backend and reads one key, so that a
// backend that cannot be configured or reached fails the run at once. It
// returns what each strategy runs on with this backend: the baselines on
// the backend's memcached or Redis client when it has one, else on
// go-cache in the process; the region strategies on the backend.
func probe(ctx context.Context, b Backend, runID string, timeout time.Duration) (map[Strategy]string, error) {
	reg := region.New("dogpile-bench-probe", region.WithErrorHandler(func(context.Context, string, error) {}))
	if err := b.configure(reg, time.Second); err != nil {
		return nil, &BackendError{Backend: b.Name(), Err: err}
	}
	defer reg.Close()
	if err := probeRegion(ctx, reg, runID, timeout); err != nil {
		return nil, err
	}
	labels := map[Strategy]string{CacheAside: "go-cache", Loadable: "go-cache store", Region: b.Name(), RegionAsync: b.Name()}
	if sh := sharedOf(reg); sh != nil {
		labels[CacheAside], labels[Loadable] = sh.clientName(), sh.storeName()
	}
	return labels, nil
}

func probeRegion(ctx context.Context, reg *region.Region, runID string, timeout time.Duration) error {
	pctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	// The read runs on its own so that the probe ends with ctx even when
	// the client ignores ctx (a gomemcache call on a hung server lasts its
	// whole socket_timeout).
	done := make(chan error, 1)
	go func() {
		_, _, err := reg.Get(pctx, "dogpile-bench:"+runID+":probe")
		done <- err
	}()
	var err error
	select {
	case err = <-done:
	case <-pctx.Done():
		err = pctx.Err()
	}
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return &BackendError{Backend: reg.BackendName(), Err: err}
	}
	return nil
}

// cleanup deletes a strategy's keys after a run in worker processes.
func cleanup(ctx context.Context, b Backend, runID string, s Strategy, keys int) {
	names := make([]string, keys)
	for k := range names {
		names[k] = keyName(runID, s, k)
	}
	if !s.UsesBackend() {
		sh, err := openShared(b, time.Second)
		if err != nil || sh == nil {
			return
		}
		defer sh.close()
		sh.deleteKeys(ctx, names)
		return
	}
	reg := region.New("dogpile-bench-cleanup", region.WithErrorHandler(func(context.Context, string, error) {}))
	if err := b.configure(reg, time.Second); err != nil {
		return
	}
	defer reg.Close()
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	_ = reg.DeleteMulti(dctx, names)
}
