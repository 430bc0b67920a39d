// Package metrics is a region proxy that exports Prometheus metrics for a
// cache region: backend hits, misses, sets, deletes and errors, creator
// calls and their duration, waits for the dogpile lock, and the evictions
// of a backend with a size bound (EvictionReporter).
//
// Install it in code:
//
//	p, err := metrics.New(metrics.Options{Registerer: prometheus.DefaultRegisterer})
//	err = r.Configure("memory", region.WithWrap(p))
//
// or from configuration, by its registered name (the package registers
// "metrics" on prometheus.DefaultRegisterer when imported):
//
//	import _ "github.com/dogpile-go/dogpile/proxies/metrics"
//
//	r.ConfigureFromConfig(map[string]any{"cache.backend": "memory", "cache.wrap": "metrics"}, "cache.")
//
// Every metric carries a "region" label with the region's name, which the
// region passes to the proxy (region.RegionNameSetter) when it installs it.
// All proxies built with the same Registerer, Namespace and Subsystem
// share one set of metric vectors (one Collector), so any number of regions
// can use the proxy without duplicate-registration errors.
//
// On the hit path the proxy adds one atomic load and one atomic add on a
// counter resolved when the region named it: no label lookup and no
// allocation per call. See docs/observability.md for the metric names and
// the measured cost.
package metrics

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/dogpile-go/dogpile/region"
)

// ProxyName is the name the package registers its proxy under (for a
// region configuration's "wrap" key). That proxy reports to
// prometheus.DefaultRegisterer with the default Options.
const ProxyName = "metrics"

func init() {
	region.RegisterProxy(ProxyName, func() (region.Proxy, error) {
		return New(Options{})
	})
}

// DefaultNamespace is the metric name prefix used when Options.Namespace is
// empty.
const DefaultNamespace = "dogpile"

// Backend operation names, the values of the "op" label of the errors
// metric.
const (
	OpGet         = "get"
	OpGetMulti    = "get_multi"
	OpSet         = "set"
	OpSetMulti    = "set_multi"
	OpDelete      = "delete"
	OpDeleteMulti = "delete_multi"
)

// Creator outcomes, the values of the "outcome" label of the creator
// metrics.
const (
	OutcomeOK    = "ok"
	OutcomeError = "error"
)

// Options configure a Collector.
type Options struct {
	// Registerer is where the Collector is registered. Nil means
	// prometheus.DefaultRegisterer. If an identical Collector (same
	// Namespace and Subsystem) is already registered there, it is reused.
	// To add constant labels (service, instance, ...) pass
	// prometheus.WrapRegistererWith(labels, reg).
	Registerer prometheus.Registerer
	// Namespace is the first part of every metric name. Empty means
	// DefaultNamespace ("dogpile").
	Namespace string
	// Subsystem, if set, goes between Namespace and the metric name.
	Subsystem string
	// CreatorBuckets are the buckets, in seconds, of the creator duration
	// histogram. Nil means prometheus.DefBuckets.
	CreatorBuckets []float64
	// LockWaitBuckets are the buckets, in seconds, of the lock wait
	// histogram. Nil means prometheus.DefBuckets.
	LockWaitBuckets []float64
}

// Collector holds the metric vectors that every Proxy built from it
// reports to. It is a prometheus.Collector. Build one with NewCollector and
// as many proxies from it as there are regions (Collector.Proxy).
type Collector struct {
	// Hits and misses are plain atomic counters, one pair per region name
	// (no interface call on the hit path), exported on Collect.
	hitsDesc, missesDesc *prometheus.Desc
	evictionsDesc        *prometheus.Desc
	readsMu              sync.Mutex
	reads                map[string]*readCounts // by region name

	sets            *prometheus.CounterVec
	deletes         *prometheus.CounterVec
	errors          *prometheus.CounterVec
	creatorCalls    *prometheus.CounterVec
	creatorDuration *prometheus.HistogramVec
	lockWaits       *prometheus.CounterVec
	lockWaitTime    *prometheus.HistogramVec
}

// NewCollector builds a Collector and registers it with opts.Registerer.
// When an identical Collector (same Namespace and Subsystem) is already
// registered there, that one is returned instead, so calling NewCollector
// (or New) once per region is safe; the first registration's histogram
// buckets are then the ones in use. Any other registration error (a
// metric of the same name with other labels, for example) is returned.
func NewCollector(opts Options) (*Collector, error) {
	c := newCollector(opts)
	reg := opts.Registerer
	if reg == nil {
		reg = prometheus.DefaultRegisterer
	}
	if err := reg.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if existing, ok := are.ExistingCollector.(*Collector); ok {
				return existing, nil
			}
		}
		return nil, fmt.Errorf("metrics: registering collector: %w", err)
	}
	return c, nil
}

func newCollector(opts Options) *Collector {
	ns := opts.Namespace
	if ns == "" {
		ns = DefaultNamespace
	}
	counter := func(name, help string, labels ...string) *prometheus.CounterVec {
		return prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: ns, Subsystem: opts.Subsystem, Name: name, Help: help,
		}, labels)
	}
	histogram := func(name, help string, buckets []float64, labels ...string) *prometheus.HistogramVec {
		if buckets == nil {
			buckets = prometheus.DefBuckets
		}
		return prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: ns, Subsystem: opts.Subsystem, Name: name, Help: help, Buckets: buckets,
		}, labels)
	}
	return &Collector{
		hitsDesc: prometheus.NewDesc(prometheus.BuildFQName(ns, opts.Subsystem, "hits_total"),
			"Backend reads that found a value (GetMulti counts each key).", []string{"region"}, nil),
		missesDesc: prometheus.NewDesc(prometheus.BuildFQName(ns, opts.Subsystem, "misses_total"),
			"Backend reads that found no value (GetMulti counts each key).", []string{"region"}, nil),
		evictionsDesc: prometheus.NewDesc(prometheus.BuildFQName(ns, opts.Subsystem, "evictions_total"),
			"Values the backend evicted to stay within its size bound (backends with a bound only).", []string{"region"}, nil),
		reads:   make(map[string]*readCounts),
		sets:    counter("sets_total", "Values written to the backend (SetMulti counts each key).", "region"),
		deletes: counter("deletes_total", "Keys deleted from the backend (DeleteMulti counts each key).", "region"),
		errors:  counter("errors_total", "Backend calls that returned an error, by operation.", "region", "op"),
		creatorCalls: counter("creator_calls_total",
			"Creator calls made by GetOrCreate and friends, by outcome (ok, error).", "region", "outcome"),
		creatorDuration: histogram("creator_duration_seconds",
			"How long creator calls took, by outcome (ok, error).", opts.CreatorBuckets, "region", "outcome"),
		lockWaits: counter("lock_waits_total",
			"Callers that waited for another caller's creation of a key (the dogpile lock).", "region"),
		lockWaitTime: histogram("lock_wait_duration_seconds",
			"How long callers waited for another caller's creation of a key.", opts.LockWaitBuckets, "region"),
	}
}

func (c *Collector) collectors() []prometheus.Collector {
	return []prometheus.Collector{
		c.sets, c.deletes, c.errors,
		c.creatorCalls, c.creatorDuration, c.lockWaits, c.lockWaitTime,
	}
}

// Describe implements prometheus.Collector.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.hitsDesc
	ch <- c.missesDesc
	ch <- c.evictionsDesc
	for _, m := range c.collectors() {
		m.Describe(ch)
	}
}

// Collect implements prometheus.Collector.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	c.readsMu.Lock()
	for name, rc := range c.reads {
		ch <- prometheus.MustNewConstMetric(c.hitsDesc, prometheus.CounterValue, float64(rc.hits.Load()), name)
		ch <- prometheus.MustNewConstMetric(c.missesDesc, prometheus.CounterValue, float64(rc.misses.Load()), name)
		if rc.bounded.Load() {
			ch <- prometheus.MustNewConstMetric(c.evictionsDesc, prometheus.CounterValue, float64(rc.evictions.Load()), name)
		}
	}
	c.readsMu.Unlock()
	for _, m := range c.collectors() {
		m.Collect(ch)
	}
}

// Proxy returns a new proxy reporting to c. Use one proxy per region: the
// proxy labels its metrics with the name of the region it is installed in.
func (c *Collector) Proxy() *Proxy {
	return &Proxy{c: c}
}

// New returns a proxy reporting to the Collector for opts (see
// NewCollector): New(opts) is NewCollector(opts) then Collector.Proxy.
func New(opts Options) (*Proxy, error) {
	c, err := NewCollector(opts)
	if err != nil {
		return nil, err
	}
	return c.Proxy(), nil
}

// series are one region's metrics, resolved from the vectors once so the
// data path does no label lookup.
type series struct {
	*readCounts
	name                   string
	sets, deletes          prometheus.Counter
	errGet, errGetMulti    prometheus.Counter
	errSet, errSetMulti    prometheus.Counter
	errDelete, errDelMulti prometheus.Counter
	creatorOK, creatorErr  prometheus.Counter
	createdOK, createdErr  prometheus.Observer
	lockWaits              prometheus.Counter
	lockWaitTime           prometheus.Observer
}

// readCounts are one region name's backend reads and evictions, shared by
// every proxy (series) reporting under that name: like a Prometheus
// counter child, it lives as long as the collector and never goes down,
// also when the region's backend is replaced.
type readCounts struct {
	hits, misses atomic.Uint64
	evictions    atomic.Uint64
	// bounded: a proxy under this name found an EvictionReporter, so the
	// evictions series is exported (from zero) for the name.
	bounded atomic.Bool
}

func (c *Collector) series(name string) *series {
	s := c.newSeries(name)
	c.readsMu.Lock()
	rc, ok := c.reads[name]
	if !ok {
		rc = &readCounts{}
		c.reads[name] = rc
	}
	c.readsMu.Unlock()
	s.readCounts = rc
	return s
}

func (c *Collector) newSeries(name string) *series {
	return &series{
		name:         name,
		sets:         c.sets.WithLabelValues(name),
		deletes:      c.deletes.WithLabelValues(name),
		errGet:       c.errors.WithLabelValues(name, OpGet),
		errGetMulti:  c.errors.WithLabelValues(name, OpGetMulti),
		errSet:       c.errors.WithLabelValues(name, OpSet),
		errSetMulti:  c.errors.WithLabelValues(name, OpSetMulti),
		errDelete:    c.errors.WithLabelValues(name, OpDelete),
		errDelMulti:  c.errors.WithLabelValues(name, OpDeleteMulti),
		creatorOK:    c.creatorCalls.WithLabelValues(name, OutcomeOK),
		creatorErr:   c.creatorCalls.WithLabelValues(name, OutcomeError),
		createdOK:    c.creatorDuration.WithLabelValues(name, OutcomeOK),
		createdErr:   c.creatorDuration.WithLabelValues(name, OutcomeError),
		lockWaits:    c.lockWaits.WithLabelValues(name),
		lockWaitTime: c.lockWaitTime.WithLabelValues(name),
	}
}

// Proxy is a region proxy that counts what passes through it into its
// Collector's metrics, labelled with the region's name. It implements
// region.Observer (creator calls, lock waits) and region.RegionNameSetter,
// which the region uses on its own when the proxy is installed with
// region.WithWrap, Region.Wrap or the "wrap" configuration key. Build it
// with New or Collector.Proxy; it is safe for concurrent use.
type Proxy struct {
	region.ProxyBackend
	c    *Collector
	s    atomic.Pointer[series]
	next region.ValueReader // Proxied's fast path, if it has one
}

// SetProxied sets the next backend in the chain. When a layer below is an
// EvictionReporter (found with region.BackendAs), the proxy has it report
// its evictions to the region's evictions counter.
func (p *Proxy) SetProxied(b region.Backend) {
	p.ProxyBackend.SetProxied(b)
	p.next, _ = b.(region.ValueReader)
	p.watchEvictions(b)
}

var (
	_ region.Proxy            = (*Proxy)(nil)
	_ region.Observer         = (*Proxy)(nil)
	_ region.RegionNameSetter = (*Proxy)(nil)
	_ region.ValueReader      = (*Proxy)(nil)
)

// Collector returns the Collector the proxy reports to.
func (p *Proxy) Collector() *Collector { return p.c }

// SetRegionName sets the "region" label of what the proxy reports from now
// on. Until it is called the label is empty.
func (p *Proxy) SetRegionName(name string) {
	if s := p.s.Load(); s != nil && s.name == name {
		return
	}
	s := p.c.series(name)
	p.markBounded(s)
	p.s.Store(s)
}

// RegionName returns the region name the proxy labels its metrics with.
func (p *Proxy) RegionName() string {
	if s := p.s.Load(); s != nil {
		return s.name
	}
	return ""
}

// series returns the proxy's series; small enough to be inlined into the
// data path.
func (p *Proxy) series() *series {
	if s := p.s.Load(); s != nil {
		return s
	}
	return p.unnamedSeries()
}

// unnamedSeries installs the series for region "" when the proxy is used
// before SetRegionName (outside a region).
func (p *Proxy) unnamedSeries() *series {
	s := p.c.series("")
	p.markBounded(s)
	p.s.CompareAndSwap(nil, s)
	return p.s.Load()
}

// Get counts a hit or a miss, or an error.
func (p *Proxy) Get(ctx context.Context, key string) (cv region.CachedValue, ok bool, err error) {
	// Named results: the 48-byte CachedValue is written once, in place,
	// rather than copied through temporaries (measurable on a memory hit).
	cv, ok, err = p.Proxied.Get(ctx, key)
	s := p.series()
	switch {
	case err != nil:
		s.errGet.Inc()
	case ok:
		s.hits.Add(1)
	default:
		s.misses.Add(1)
	}
	return
}

// Lookup is the region's fast path (region.ValueReader) for in-process
// backends: it counts a hit or a miss, as Get does, and reads through the
// next layer's Lookup. The region uses it only when every layer below has
// one; otherwise it calls Get.
func (p *Proxy) Lookup(key string) *region.CachedValue {
	if p.next == nil {
		return nil // not reached: the region checks the chain first
	}
	cv := p.next.Lookup(key)
	s := p.series()
	if cv != nil {
		s.hits.Add(1)
	} else {
		s.misses.Add(1)
	}
	return cv
}

// GetMulti counts a hit for each key found and a miss for each key not
// found, or an error.
func (p *Proxy) GetMulti(ctx context.Context, keys []string) (map[string]region.CachedValue, error) {
	m, err := p.Proxied.GetMulti(ctx, keys)
	s := p.series()
	if err != nil {
		s.errGetMulti.Inc()
		return m, err
	}
	found := 0
	for _, k := range keys {
		if _, ok := m[k]; ok {
			found++
		}
	}
	if found > 0 {
		s.hits.Add(uint64(found))
	}
	if n := len(keys) - found; n > 0 {
		s.misses.Add(uint64(n))
	}
	return m, nil
}

// Set counts a set, or an error.
func (p *Proxy) Set(ctx context.Context, key string, v region.CachedValue) error {
	err := p.Proxied.Set(ctx, key, v)
	s := p.series()
	if err != nil {
		s.errSet.Inc()
	} else {
		s.sets.Inc()
	}
	return err
}

// SetMulti counts a set per key, or an error.
func (p *Proxy) SetMulti(ctx context.Context, m map[string]region.CachedValue) error {
	err := p.Proxied.SetMulti(ctx, m)
	s := p.series()
	if err != nil {
		s.errSetMulti.Inc()
	} else if len(m) > 0 {
		s.sets.Add(float64(len(m)))
	}
	return err
}

// Delete counts a delete, or an error.
func (p *Proxy) Delete(ctx context.Context, key string) error {
	err := p.Proxied.Delete(ctx, key)
	s := p.series()
	if err != nil {
		s.errDelete.Inc()
	} else {
		s.deletes.Inc()
	}
	return err
}

// DeleteMulti counts a delete per key, or an error.
func (p *Proxy) DeleteMulti(ctx context.Context, keys []string) error {
	err := p.Proxied.DeleteMulti(ctx, keys)
	s := p.series()
	if err != nil {
		s.errDelMulti.Inc()
	} else if len(keys) > 0 {
		s.deletes.Add(float64(len(keys)))
	}
	return err
}

// ObserveCreation implements region.Observer: it counts a creator call and
// records its duration, with outcome "ok" or "error".
func (p *Proxy) ObserveCreation(_ context.Context, _ string, took time.Duration, err error) {
	s := p.series()
	if err != nil {
		s.creatorErr.Inc()
		s.createdErr.Observe(took.Seconds())
		return
	}
	s.creatorOK.Inc()
	s.createdOK.Observe(took.Seconds())
}

// ObserveLockWait implements region.Observer: it counts a wait for the
// dogpile lock and records how long it was.
func (p *Proxy) ObserveLockWait(_ context.Context, _ string, waited time.Duration) {
	s := p.series()
	s.lockWaits.Inc()
	s.lockWaitTime.Observe(waited.Seconds())
}
