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
//   - cache-aside: a raw client read; on a miss the caller runs the creator
//     and stores the value. Nothing stops every caller that misses from
//     running the creator at once: the stampede.
//   - loadable: eko/gocache's LoadableCache. Concurrent misses of a key in
//     one process share one load, and wait for it.
//
// These two baselines run on the configured backend's own memcached or
// Redis client when it has one (raw gomemcache or go-redis, and
// eko/gocache's memcache or redis store over that client), so that every
// strategy pays the same round trips; otherwise on patrickmn/go-cache in
// the process. Result.Store says which.
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
	"strconv"
	"strings"
	"time"

	"github.com/dogpile-go/dogpile/oslocache"
	"github.com/dogpile-go/dogpile/region"
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
		return "cache-aside"
	case Loadable:
		return "gocache loadable"
	case Region:
		return "region.GetOrCreate"
	case RegionAsync:
		return "region.GetOrCreate+async"
	}
	return string(s)
}

// Description says in one line what the strategy does.
func (s Strategy) Description() string {
	switch s {
	case CacheAside:
		return "a raw client (go-cache, or gomemcache / go-redis on a shared store): Get, and on a miss run the creator and Set; no protection"
	case Loadable:
		return "eko/gocache LoadableCache (over go-cache, or its memcache / redis store on a shared store): one load per key per process, callers wait for it"
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

// Bounds of a Workload. They keep a run within memory (each caller keeps
// its own latency histogram of about 30 KiB) and within a time a person
// waits for, and they keep every setting meaningful: a Zipf exponent of
// +Inf, for one, would make the key generator loop forever.
const (
	MaxGoroutines     = 10_000
	MaxKeys           = 1_000_000
	MaxZipfS          = 100 // above about 20 every request asks for key 0 anyway
	MinDuration       = 100 * time.Millisecond
	MaxDuration       = time.Hour
	MinExpiration     = time.Millisecond
	MaxExpiration     = time.Hour
	MaxCreatorLatency = time.Minute
	MaxThink          = time.Minute
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

// WorkloadError reports a workload setting out of its allowed range.
// Setting is the name of the command-line flag that sets it ("zipf",
// "duration", ...).
type WorkloadError struct {
	Setting string // "goroutines", "keys", "zipf", "creator-latency", "expiration", "duration", "think"
	Value   string // the value given, as text ("+Inf", "100h")
	Allowed string // the allowed range, e.g. "100ms to 1h"
}

// Error names the setting, its value and the allowed range.
func (e *WorkloadError) Error() string {
	return fmt.Sprintf("%s %s is out of range: want %s", e.Setting, e.Value, e.Allowed)
}

// Validate reports the first setting out of its range, as a
// *WorkloadError.
func (w Workload) Validate() error {
	durationIn := func(setting string, d, lo, hi time.Duration, allowed string) error {
		if d < lo || d > hi {
			return &WorkloadError{Setting: setting, Value: FormatDuration(d), Allowed: allowed}
		}
		return nil
	}
	switch {
	case w.Goroutines < 1 || w.Goroutines > MaxGoroutines:
		return &WorkloadError{"goroutines", strconv.Itoa(w.Goroutines), fmt.Sprintf("1 to %d", MaxGoroutines)}
	case w.Keys < 1 || w.Keys > MaxKeys:
		return &WorkloadError{"keys", strconv.Itoa(w.Keys), fmt.Sprintf("1 to %d", MaxKeys)}
	case !(w.ZipfS > 1 && w.ZipfS <= MaxZipfS): // false for NaN too
		return &WorkloadError{"zipf", strconv.FormatFloat(w.ZipfS, 'g', -1, 64), fmt.Sprintf("a number greater than 1 and at most %d", MaxZipfS)}
	}
	for _, c := range []struct {
		setting string
		d, lo   time.Duration
		hi      time.Duration
	}{
		{"creator-latency", w.CreatorLatency, 0, MaxCreatorLatency},
		{"expiration", w.Expiration, MinExpiration, MaxExpiration},
		{"duration", w.Duration, MinDuration, MaxDuration},
		{"think", w.Think, 0, MaxThink},
	} {
		if err := durationIn(c.setting, c.d, c.lo, c.hi, FormatDuration(c.lo)+" to "+FormatDuration(c.hi)); err != nil {
			return err
		}
	}
	return nil
}

// FormatDuration writes a duration the short way a person writes it:
// "1h", "1m30s", "100ms", "0s" (time.Duration's String writes "1h0m0s").
func FormatDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// Backend is the store the region strategies run on: a configuration map
// for region.ConfigureFromConfig with an empty prefix (keys "backend",
// "arguments.<name>", "wrap", ...), or a keystone.conf whose [cache]
// section configures the regions as oslo.cache does. The workload's
// Expiration replaces the configured expiration. A nil Conf and no
// KeystoneConf mean the memory backend.
//
// Both forms are plain data, so that `bench --procs` sends them to its
// worker processes as they are (a keystone.conf by its path: each worker
// reads the file, TLS certificates included).
type Backend struct {
	Conf map[string]any `json:"conf,omitempty"`
	// KeystoneConf is the path of a keystone.conf-style file: when set,
	// the regions are configured from its [cache] section by package
	// oslocache (oslo.cache's backend arguments, proxies and SHA-1 key
	// mangling), as the dogpile command's get and set configure theirs,
	// and Conf is not used.
	KeystoneConf string `json:"keystone_conf,omitempty"`
	// KeystoneArgs are backend arguments over the file's, as written
	// (name to value, coerced as a config file's values are).
	KeystoneArgs map[string]string `json:"keystone_args,omitempty"`
}

// Name returns the configured backend's short name.
func (b Backend) Name() string {
	if b.KeystoneConf != "" {
		s, err := b.keystoneSettings()
		if err != nil {
			return "[cache] of " + b.KeystoneConf
		}
		return s.Backend
	}
	if b.Conf == nil {
		return "memory"
	}
	if s, ok := b.Conf["backend"].(string); ok {
		return s
	}
	return fmt.Sprint(b.Conf["backend"])
}

// keystoneSettings reads KeystoneConf's [cache] section, with KeystoneArgs
// over its arguments.
func (b Backend) keystoneSettings() (*oslocache.RegionSettings, error) {
	conf, err := oslocache.Load(b.KeystoneConf)
	if err != nil {
		return nil, err
	}
	s, err := conf.RegionSettings()
	if err != nil {
		return nil, err
	}
	for name, v := range b.KeystoneArgs {
		s.Arguments[name] = region.CoerceString(v)
	}
	return s, nil
}

// configure configures r on the backend, its values fresh for exp.
func (b Backend) configure(r *region.Region, exp time.Duration) error {
	if b.KeystoneConf == "" {
		return r.ConfigureFromConfig(b.confWith(exp), "")
	}
	s, err := b.keystoneSettings()
	if err != nil {
		return err
	}
	s.ExpirationTime = exp
	return s.Apply(r)
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
	// Strategies are the strategies the run was to measure, in order.
	Strategies []Strategy
	// Results has one entry per strategy, in the order they ran. A run that
	// ended early has the strategies measured so far, the last one maybe
	// Partial.
	Results []Result
	// Interrupted: the run was stopped (its context ended, as on Ctrl-C)
	// before every strategy had run.
	Interrupted bool
	// Failure, when not nil, is the strategy that could not run or finish,
	// and why. The strategies after it did not run.
	Failure *StrategyError
}

// NotRun returns the strategies of the run that were not measured at all.
func (r *Report) NotRun() []Strategy {
	var out []Strategy
	for _, s := range r.Strategies {
		if !slices.ContainsFunc(r.Results, func(res Result) bool { return res.Strategy == s }) {
			out = append(out, s)
		}
	}
	return out
}

// Complete reports whether every strategy ran to its end.
func (r *Report) Complete() bool { return !r.Interrupted && r.Failure == nil }

// StrategyError is a strategy that could not run or finish: its backend
// could not be reached, a worker process died, ...
type StrategyError struct {
	Strategy Strategy
	Err      error
}

// Error names the strategy and the cause.
func (e *StrategyError) Error() string { return fmt.Sprintf("strategy %s: %v", e.Strategy, e.Err) }

// Unwrap returns the cause.
func (e *StrategyError) Unwrap() error { return e.Err }

// Result is one strategy's numbers, summed over its processes.
type Result struct {
	Strategy Strategy
	// Store is what the strategy ran on: "go-cache", "gomemcache",
	// "memcache store", "memcached" (the backend's name), ...
	Store string
	// Procs is the number of processes the strategy ran in.
	Procs int
	// Partial: the strategy was stopped before its Duration (interrupted,
	// or a worker process failed); the numbers are those so far.
	Partial bool
	// Requests is the number of completed requests.
	Requests uint64
	// Elapsed is how long the strategy ran (the longest of its processes).
	Elapsed time.Duration
	// CreatorCalls is how many times a creator ran.
	CreatorCalls uint64
	// CreatorCallsByWindow is creator calls per expiry window from the
	// start of the strategy, summed over keys (and processes).
	CreatorCallsByWindow []uint64
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
	P50, P90, P99, P999, Max, Mean time.Duration
}

// Label is the strategy's name with the store it ran on, as the table
// shows it: "cache-aside (gomemcache)", "region.GetOrCreate (memcached)".
func (r Result) Label() string {
	if r.Store == "" {
		return r.Strategy.Label()
	}
	return r.Strategy.Label() + " (" + r.Store + ")"
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
// strategy runs.
//
// Run returns what it measured even when it ends early: when ctx ends it
// stops at once and returns the report so far (Interrupted, the current
// strategy's counts marked Partial) with ctx.Err(); when a strategy cannot
// run or finish it returns the report so far with a *StrategyError, also
// in Report.Failure. The report is nil only when the options are invalid.
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
	rep := &Report{Workload: opts.Workload, Backend: opts.Backend.Name(), Procs: procs, RunID: newRunID(), Strategies: strategies}
	labels, err := probe(ctx, opts.Backend, rep.RunID, opts.ProbeTimeout)
	if err != nil {
		if ctx.Err() != nil {
			rep.Interrupted = true
			return rep, ctx.Err()
		}
		return rep, err
	}
	for i, s := range strategies {
		if err := ctx.Err(); err != nil {
			rep.Interrupted = true
			return rep, err
		}
		if opts.Progress != nil {
			opts.Progress.Start(s, i, len(strategies), opts.Workload.Duration)
		}
		spec := workerSpec{Workload: wireWorkload(opts.Workload), Strategy: s, Backend: opts.Backend, RunID: rep.RunID}
		var st *stats
		var err error
		if procs == 1 {
			st, err = runLocal(ctx, spec, opts.Progress)
		} else {
			st, err = runProcs(ctx, spec, procs, opts.WorkerCommand, opts.Progress)
			within(ctx, func() { cleanup(ctx, opts.Backend, rep.RunID, s, opts.Workload.Keys) })
		}
		if opts.Progress != nil {
			opts.Progress.Finish()
		}
		if st != nil {
			rep.Results = append(rep.Results, st.result(s, labels[s], procs, opts.Workload))
		}
		if ctx.Err() != nil {
			rep.Interrupted = true
			return rep, ctx.Err()
		}
		if err != nil {
			rep.Failure = &StrategyError{Strategy: s, Err: err}
			return rep, rep.Failure
		}
	}
	return rep, nil
}

// runLocal runs one strategy in this process. Interrupted, it returns the
// counts so far with ctx's error.
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
	st := r.run(ctx, time.Now())
	close(stop)
	<-done
	within(ctx, func() { r.deleteKeys(ctx) })
	return st, ctx.Err()
}

// interruptedCleanup is how long an interrupted run spends deleting its
// keys before it reports (the keys of the baselines expire by themselves).
const interruptedCleanup = 300 * time.Millisecond

// within runs f, the deletion of a strategy's keys. Once ctx has ended
// (the run was interrupted) it waits for f at most interruptedCleanup, so
// that a hung server cannot hold the report back.
func within(ctx context.Context, f func()) {
	if ctx.Err() == nil {
		f()
		return
	}
	done := make(chan struct{})
	go func() { f(); close(done) }()
	t := time.NewTimer(interruptedCleanup)
	defer t.Stop()
	select {
	case <-done:
	case <-t.C:
	}
}
