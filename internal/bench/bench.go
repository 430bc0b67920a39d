// Package bench is the engine of `dogpile bench`: a cache stampede run side
// by side with several caching strategies on the same workload, so that the
// numbers show what the dogpile lock buys.
//
// The workload: Goroutines callers loop for Duration, each asking for one of
// Keys hot keys drawn with a Zipf (skewed) popularity. A missing or expired
// key is made by a creator that takes CreatorLatency. Values expire after
// Expiration, so every key goes through Duration/Expiration expiry windows.
//
// The strategies:
//
//   - cache-aside: a raw patrickmn/go-cache read; on a miss the caller runs
//     the creator and stores the value. Nothing stops every caller that
//     misses from running the creator at once: the stampede.
//   - loadable: eko/gocache's LoadableCache over go-cache. Concurrent misses
//     of a key in one process share one load, and wait for it.
//
// When the backend is a shared store (memcached or Redis), cache-aside and
// loadable run on the same servers instead, through the backend's own
// client: cache-aside on the raw client (gomemcache, go-redis), loadable
// over eko/gocache's memcache or redis store (see StoreOf), so every row
// pays the same network.
//   - region: region.GetOrCreate on the configured backend (memory by
//     default). One caller regenerates an expired key while the others are
//     served the old value at once.
//   - region-async: the same with an async creation runner: every caller is
//     served the old value while a background job regenerates.
//
// With Options.Procs > 1 each strategy runs in that many worker processes
// (started by Options.WorkerCommand, which runs RunWorker) at the same
// time, and their counts are summed: on a shared backend with a
// distributed lock (memcached, Redis) the region strategies still create
// each key about once per expiry window in total.
package bench

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"os/exec"
	"slices"
	"strings"
	"time"
)

// Strategy names a caching strategy.
type Strategy string

// The strategies Run knows, in the order they are run by default.
const (
	CacheAside  Strategy = "cache-aside"
	Loadable    Strategy = "loadable"
	Region      Strategy = "region"
	RegionAsync Strategy = "region-async"
)

// AllStrategies returns every strategy in the default order.
func AllStrategies() []Strategy { return []Strategy{CacheAside, Loadable, Region, RegionAsync} }

// Label is the strategy's name as shown in the table.
func (s Strategy) Label() string {
	switch s {
	case CacheAside:
		return "cache-aside (go-cache)"
	case Loadable:
		return "gocache loadable"
	case Region:
		return "region.GetOrCreate"
	case RegionAsync:
		return "region.GetOrCreate+async"
	}
	return string(s)
}

// Label is the strategy's name as shown in the table, with the store of
// the cache-aside and loadable strategies.
func (r Result) Label() string {
	switch {
	case r.Strategy == CacheAside && r.Store == StoreMemcached:
		return "cache-aside (gomemcache)"
	case r.Strategy == CacheAside && r.Store == StoreRedis:
		return "cache-aside (go-redis)"
	case r.Strategy == Loadable && r.Store == StoreMemcached:
		return "gocache loadable (memcache)"
	case r.Strategy == Loadable && r.Store == StoreRedis:
		return "gocache loadable (redis)"
	}
	return r.Strategy.Label()
}

// Description says in one line what the strategy does.
func (s Strategy) Description() string {
	switch s {
	case CacheAside:
		return "raw go-cache: Get, and on a miss run the creator and Set; no protection"
	case Loadable:
		return "eko/gocache LoadableCache on go-cache: one load per key per process, callers wait for it"
	case Region:
		return "dogpile lock: one caller regenerates, the others get the old value at once"
	case RegionAsync:
		return "dogpile lock with an async runner: everyone gets the old value while a job regenerates"
	}
	return ""
}

// UsesBackend reports whether the strategy runs on the configured backend
// (the region strategies) rather than on a cache of its own in the process.
func (s Strategy) UsesBackend() bool { return s == Region || s == RegionAsync }

// ParseStrategies parses a comma-separated list of strategy names ("all"
// for every strategy).
func ParseStrategies(list string) ([]Strategy, error) {
	var out []Strategy
	for _, part := range strings.Split(list, ",") {
		name := strings.TrimSpace(part)
		if name == "" {
			continue
		}
		if name == "all" {
			out = append(out, AllStrategies()...)
			continue
		}
		s := Strategy(name)
		if !slices.Contains(AllStrategies(), s) {
			return nil, fmt.Errorf("unknown strategy %q (strategies: %s, all)", name, strategyNames())
		}
		out = append(out, s)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no strategy given (strategies: %s, all)", strategyNames())
	}
	// Run in the default order, each once.
	var ordered []Strategy
	for _, s := range AllStrategies() {
		if slices.Contains(out, s) {
			ordered = append(ordered, s)
		}
	}
	return ordered, nil
}

func strategyNames() string {
	var names []string
	for _, s := range AllStrategies() {
		names = append(names, string(s))
	}
	return strings.Join(names, ", ")
}

// Workload is what every strategy is run with.
type Workload struct {
	// Goroutines is the number of concurrent callers (per process).
	Goroutines int
	// Keys is the number of hot keys.
	Keys int
	// ZipfS is the Zipf exponent of the keys' popularity (> 1; larger is
	// more skewed). Key i is asked for in proportion to (1+i)^-ZipfS.
	ZipfS float64
	// CreatorLatency is how long the creator takes to make a value.
	CreatorLatency time.Duration
	// Expiration is how long a value stays fresh.
	Expiration time.Duration
	// Duration is how long each strategy runs.
	Duration time.Duration
	// Think is the pause of each caller between two requests, as a client
	// between two page views (0: none; the callers then keep the CPUs
	// busy and latencies measure the Go scheduler as much as the cache).
	Think time.Duration
}

// Bounds of a Workload, to keep a run within memory (each caller keeps its
// own latency histogram of about 30 KiB).
const (
	MaxGoroutines = 10_000
	MaxKeys       = 1_000_000
)

// DefaultWorkload is the workload of `dogpile bench` without flags.
func DefaultWorkload() Workload {
	return Workload{
		Goroutines:     200,
		Keys:           10,
		ZipfS:          1.1,
		CreatorLatency: 20 * time.Millisecond,
		Expiration:     time.Second,
		Duration:       10 * time.Second,
		Think:          time.Millisecond,
	}
}

// Validate reports the first setting that cannot be run.
func (w Workload) Validate() error {
	switch {
	case w.Goroutines < 1 || w.Goroutines > MaxGoroutines:
		return fmt.Errorf("goroutines must be 1 to %d (got %d)", MaxGoroutines, w.Goroutines)
	case w.Keys < 1 || w.Keys > MaxKeys:
		return fmt.Errorf("keys must be 1 to %d (got %d)", MaxKeys, w.Keys)
	case !(w.ZipfS > 1):
		return fmt.Errorf("zipf exponent must be greater than 1 (got %g)", w.ZipfS)
	case w.CreatorLatency < 0:
		return fmt.Errorf("creator latency must not be negative (got %s)", w.CreatorLatency)
	case w.Expiration <= 0:
		return fmt.Errorf("expiration must be positive (got %s)", w.Expiration)
	case w.Duration <= 0:
		return fmt.Errorf("duration must be positive (got %s)", w.Duration)
	case w.Think < 0:
		return fmt.Errorf("think time must not be negative (got %s)", w.Think)
	}
	return nil
}

// Backend is the store the region strategies run on: a configuration map
// for region.ConfigureFromConfig with an empty prefix (keys "backend",
// "arguments.<name>", "wrap", ...). The workload's Expiration replaces any
// "expiration_time" in it. A nil Conf means the memory backend.
type Backend struct {
	Conf map[string]any
}

// Name returns the configured backend's short name.
func (b Backend) Name() string {
	if b.Conf == nil {
		return "memory"
	}
	if s, ok := b.Conf["backend"].(string); ok {
		return s
	}
	return fmt.Sprint(b.Conf["backend"])
}

func (b Backend) confWith(exp time.Duration) map[string]any {
	c := maps.Clone(b.Conf)
	if c == nil {
		c = map[string]any{"backend": "memory"}
	}
	c["expiration_time"] = exp
	return c
}

// Progress is told how a run advances, to draw a progress bar. Its methods
// are called from one goroutine at a time.
type Progress interface {
	// Start is called when strategy number index (from 0) of count starts.
	Start(s Strategy, index, count int, d time.Duration)
	// Update reports the time elapsed in the current strategy, about ten
	// times a second.
	Update(elapsed time.Duration)
	// Finish is called when the strategy has ended.
	Finish()
}

// Options configure Run.
type Options struct {
	// Workload is what every strategy runs.
	Workload Workload
	// Strategies are run in this order; nil runs AllStrategies.
	Strategies []Strategy
	// Backend is the store of the region strategies.
	Backend Backend
	// Procs is the number of worker processes per strategy; 0 or 1 runs
	// everything in this process.
	Procs int
	// WorkerCommand returns a command that runs RunWorker with its standard
	// input and output (for example this program with a hidden
	// subcommand). Needed when Procs > 1.
	// WorkerCommand must leave the command's Stdin, Stdout and Stderr unset.
	WorkerCommand func(ctx context.Context) *exec.Cmd
	// Progress, when not nil, is told how the run advances.
	Progress Progress
	// ProbeTimeout bounds the first call to the backend (default 10s).
	ProbeTimeout time.Duration
}

// Report is the outcome of Run. WriteTable and WriteJSON print it.
type Report struct {
	Workload Workload
	// Backend is the short name of the backend the region strategies ran on.
	Backend string
	// Procs is the number of processes each strategy ran in.
	Procs int
	// RunID is in the name of every key the run used.
	RunID string
	// Results has one entry per strategy, in the order they ran.
	Results []Result
}

// Result is one strategy's numbers, summed over its processes.
type Result struct {
	Strategy Strategy
	// Store is where the strategy kept its values: the backend's name for
	// the region strategies; for cache-aside and loadable, the same
	// servers (StoreMemcached, StoreRedis) when the backend is a shared
	// store, else StoreInProcess.
	Store StoreKind
	// Procs is the number of processes the strategy ran in.
	Procs int
	// Requests is the number of completed requests.
	Requests uint64
	// Elapsed is how long the strategy ran (the longest of its processes).
	Elapsed time.Duration
	// CreatorCalls is how many times a creator ran.
	CreatorCalls uint64
	// KeysTouched is the number of keys asked for at least once.
	KeysTouched int
	// StaleServed counts values returned older than the expiration (with a
	// small tolerance for the region's own timestamp).
	StaleServed uint64
	// MaxCallsInKeyWindow is the most creator calls for one key in one
	// expiry window.
	MaxCallsInKeyWindow uint64
	// Errors counts failed requests and failed background regenerations;
	// FirstError is the first one's message.
	Errors     uint64
	FirstError string
	// Latency percentiles of the requests.
	P50, P99, Max, Mean time.Duration
}

// RequestsPerSecond is Requests over Elapsed.
func (r Result) RequestsPerSecond() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.Requests) / r.Elapsed.Seconds()
}

// Windows is the run's length in expiry windows.
func (r Result) Windows(w Workload) float64 {
	if w.Expiration <= 0 {
		return 0
	}
	return max(r.Elapsed.Seconds()/w.Expiration.Seconds(), 1)
}

// CallsPerKeyWindow is creator calls per key touched per expiry window:
// 1 means every key was made once per expiry, as the dogpile lock intends.
func (r Result) CallsPerKeyWindow(w Workload) float64 {
	win := r.Windows(w)
	if r.KeysTouched == 0 || win == 0 {
		return 0
	}
	return float64(r.CreatorCalls) / (float64(r.KeysTouched) * win)
}

// newRunID returns a random identifier that keeps one run's keys apart from
// every other run's on a shared backend.
func newRunID() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// keyName is the cache key of hot key k of a strategy in a run.
func keyName(runID string, s Strategy, k int) string {
	return fmt.Sprintf("dogpile-bench:%s:%s:%d", runID, s, k)
}

// Run runs each strategy in turn for the workload's duration and returns
// their numbers. A failure to reach the backend ends it before any
// strategy runs on that backend. When ctx ends, Run stops and returns
// ctx.Err().
func Run(ctx context.Context, opts Options) (*Report, error) {
	if err := opts.Workload.Validate(); err != nil {
		return nil, err
	}
	strategies := opts.Strategies
	if len(strategies) == 0 {
		strategies = AllStrategies()
	}
	procs := max(opts.Procs, 1)
	if procs > 1 && opts.WorkerCommand == nil {
		return nil, errors.New("bench: Procs > 1 needs a WorkerCommand")
	}
	if opts.ProbeTimeout <= 0 {
		opts.ProbeTimeout = 10 * time.Second
	}
	rep := &Report{Workload: opts.Workload, Backend: opts.Backend.Name(), Procs: procs, RunID: newRunID()}
	if slices.ContainsFunc(strategies, Strategy.UsesBackend) || StoreOf(opts.Backend) != StoreInProcess {
		if err := probe(ctx, opts.Backend, rep.RunID, opts.ProbeTimeout); err != nil {
			return nil, err
		}
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	for i, s := range strategies {
		if opts.Progress != nil {
			opts.Progress.Start(s, i, len(strategies), opts.Workload.Duration)
		}
		spec := workerSpec{Workload: wireWorkload(opts.Workload), Strategy: s, Conf: opts.Backend.Conf, RunID: rep.RunID}
		var st *stats
		var err error
		if procs == 1 {
			st, err = runLocal(ctx, spec, opts.Progress)
		} else {
			st, err = runProcs(ctx, spec, procs, opts.WorkerCommand, opts.Progress)
			if s.UsesBackend() {
				cleanup(ctx, opts.Backend, rep.RunID, s, opts.Workload.Keys)
			}
		}
		if opts.Progress != nil {
			opts.Progress.Finish()
		}
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			return nil, fmt.Errorf("strategy %s: %w", s, err)
		}
		res := st.result(s, procs, opts.Workload)
		res.Store = StoreInProcess
		switch {
		case s.UsesBackend():
			res.Store = StoreKind(opts.Backend.Name())
		case StoreOf(opts.Backend) != StoreInProcess:
			res.Store = StoreOf(opts.Backend)
		}
		rep.Results = append(rep.Results, res)
	}
	return rep, nil
}

// runLocal runs one strategy in this process.
func runLocal(ctx context.Context, spec workerSpec, p Progress) (*stats, error) {
	r, err := newRunner(ctx, spec, 0)
	if err != nil {
		return nil, err
	}
	defer r.close()
	stop := make(chan struct{})
	done := make(chan struct{})
	if p != nil {
		go func() {
			defer close(done)
			tick := time.NewTicker(100 * time.Millisecond)
			defer tick.Stop()
			start := time.Now()
			for {
				select {
				case <-stop:
					return
				case <-tick.C:
					p.Update(time.Since(start))
				}
			}
		}()
	} else {
		close(done)
	}
	st, err := r.run(ctx, time.Now())
	close(stop)
	<-done
	if err != nil {
		return nil, err
	}
	if spec.Strategy.UsesBackend() {
		r.deleteKeys(ctx)
	}
	return st, nil
}
