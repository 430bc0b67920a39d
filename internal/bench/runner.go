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

	reg *region.Region // region strategies: for deleting the keys afterwards

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
		kind := StoreOf(Backend{Conf: spec.Conf})
		if kind == StoreInProcess {
			if spec.Strategy == CacheAside {
				r.g = newCacheAside(r)
			} else {
				r.g = newLoadable(r)
			}
			break
		}
		var s *sharedClients
		if s, err = openShared(ctx, r, kind); err != nil {
			break
		}
		if spec.Strategy == CacheAside {
			r.g = &sharedCacheAside{r: r, s: s}
		} else {
			r.g = newSharedLoadable(r, s)
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

func (r *runner) close() { r.g.close() }

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

// run runs the workload until Duration has passed since it was called.
// start is the common start of every process, for the expiry windows.
func (r *runner) run(ctx context.Context, start time.Time) (*stats, error) {
	r.start = start
	var stop atomic.Bool
	began := time.Now()
	timer := time.AfterFunc(r.w.Duration, func() { stop.Store(true) })
	defer timer.Stop()
	quit := context.AfterFunc(ctx, func() { stop.Store(true) })
	defer quit()

	callers := make([]*callerStats, r.w.Goroutines)
	var wg sync.WaitGroup
	for i := range callers {
		cs := &callerStats{}
		callers[i] = cs
		seed := uint64(time.Now().UnixNano())
		wg.Go(func() { r.caller(ctx, &stop, cs, rand.New(rand.NewPCG(seed, uint64(r.proc)<<32|uint64(i)))) })
	}
	wg.Wait()
	elapsed := time.Since(began)
	if err := ctx.Err(); err != nil {
		return nil, err
	}

	st := &stats{ElapsedNS: int64(elapsed)}
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
	// Background regenerations still running belong to this run.
	if a, ok := r.g.(interface{ wait() }); ok {
		a.wait()
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
	return st, nil
}

func (r *runner) caller(ctx context.Context, stop *atomic.Bool, cs *callerStats, rng *rand.Rand) {
	var z *rand.Zipf
	if r.w.Keys > 1 {
		z = rand.NewZipf(rng, r.w.ZipfS, 1, uint64(r.w.Keys-1))
	}
	staleAfter := int64(r.w.Expiration + staleTolerance)
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

// deleteKeys removes the run's keys from the backend (region strategies).
func (r *runner) deleteKeys(ctx context.Context) {
	if r.reg == nil {
		return
	}
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	_ = r.reg.DeleteMulti(dctx, r.keys)
}

// --- cache-aside on a raw go-cache ---------------------------------------

type cacheAside struct {
	r *runner
	c *gocache.Cache
}

func newCacheAside(r *runner) *cacheAside {
	// No janitor goroutine (cleanup interval 0): expired values read as
	// missing anyway.
	return &cacheAside{r: r, c: gocache.New(r.w.Expiration, 0)}
}

func (c *cacheAside) get(ctx context.Context, k int) (value, error) {
	key := c.r.keys[k]
	if v, ok := c.c.Get(key); ok {
		return v.(value), nil
	}
	v, err := c.r.create(ctx, k)
	if err != nil {
		return value{}, err
	}
	c.c.Set(key, v, gocache.DefaultExpiration)
	return v, nil
}

func (c *cacheAside) close() {}

// --- eko/gocache loadable cache ------------------------------------------

type loadable struct {
	r     *runner
	c     *cache.LoadableCache[value]
	index map[string]int
}

func newLoadable(r *runner) *loadable {
	l := &loadable{r: r, index: make(map[string]int, len(r.keys))}
	for k, name := range r.keys {
		l.index[name] = k
	}
	st := gocachestore.NewGoCache(gocache.New(r.w.Expiration, 0))
	load := func(ctx context.Context, key any) (value, []store.Option, error) {
		name, _ := key.(string)
		k, ok := l.index[name]
		if !ok {
			return value{}, nil, fmt.Errorf("unknown key %v", key)
		}
		v, err := r.create(ctx, k)
		return v, []store.Option{store.WithExpiration(r.w.Expiration)}, err
	}
	l.c = cache.NewLoadable[value](load, cache.New[value](st))
	return l
}

func (l *loadable) get(ctx context.Context, k int) (value, error) {
	return l.c.Get(ctx, l.r.keys[k])
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
	if err := g.reg.ConfigureFromConfig(Backend{Conf: r.spec.Conf}.confWith(r.w.Expiration), ""); err != nil {
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

func (g *regionGetter) wait() { g.jobs.Wait() }

func (g *regionGetter) close() {
	g.jobs.Wait()
	_ = g.reg.Close()
}

// --- probing and cleaning the backend ------------------------------------

// BackendError is a failure to use the configured backend before the run:
// configuring it or a first read (a server that cannot be reached, say).
type BackendError struct {
	Backend string
	Err     error
}

func (e *BackendError) Error() string { return fmt.Sprintf("backend %q: %v", e.Backend, e.Err) }

// Unwrap returns the underlying error.
func (e *BackendError) Unwrap() error { return e.Err }

// probe configures a region on the backend and reads one key, so that a
// backend that cannot be configured or reached fails the run at once.
func probe(ctx context.Context, b Backend, runID string, timeout time.Duration) error {
	reg := region.New("dogpile-bench-probe", region.WithErrorHandler(func(context.Context, string, error) {}))
	if err := reg.ConfigureFromConfig(b.confWith(time.Second), ""); err != nil {
		return &BackendError{Backend: b.Name(), Err: err}
	}
	defer reg.Close()
	return probeRegion(ctx, reg, runID, timeout)
}

func probeRegion(ctx context.Context, reg *region.Region, runID string, timeout time.Duration) error {
	pctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if _, _, err := reg.Get(pctx, "dogpile-bench:"+runID+":probe"); err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return &BackendError{Backend: reg.BackendName(), Err: err}
	}
	return nil
}

// cleanup deletes a region strategy's keys after a run in worker processes.
func cleanup(ctx context.Context, b Backend, runID string, s Strategy, keys int) {
	reg := region.New("dogpile-bench-cleanup", region.WithErrorHandler(func(context.Context, string, error) {}))
	if err := reg.ConfigureFromConfig(b.confWith(time.Second), ""); err != nil {
		return
	}
	defer reg.Close()
	names := make([]string, keys)
	for k := range names {
		names[k] = keyName(runID, s, k)
	}
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	_ = reg.DeleteMulti(dctx, names)
}
