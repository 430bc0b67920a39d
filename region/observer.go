package region

import (
	"context"
	"time"
)

// Observer is told what happens inside the dogpile lock, which no backend
// or proxy can see: creator calls and waits for creation locks. Metrics and
// logging proxies implement it; a proxy installed with WithWrap or Wrap
// that implements Observer is registered automatically, and WithObserver
// adds others.
//
// Methods are called synchronously on the calling goroutine; keep them
// cheap and safe for concurrent use.
type Observer interface {
	// ObserveCreation reports one creator call for key (the caller's key,
	// before mangling): how long it took and its error, if any.
	ObserveCreation(ctx context.Context, key string, took time.Duration, err error)
	// ObserveLockWait reports a caller that waited for key's creation lock
	// (or for another caller's creation of key), and for how long.
	ObserveLockWait(ctx context.Context, key string, waited time.Duration)
}

// WithObserver adds an Observer to the region.
func WithObserver(o Observer) Option {
	return func(r *Region) { r.observers = append(r.observers, o) }
}

// RegionNameSetter is implemented by proxies that label what they report
// with the region's name (metrics, logs). The region calls SetRegionName
// when the proxy is installed.
type RegionNameSetter interface {
	SetRegionName(name string)
}

// chainObservers returns the region's observers plus every proxy in the
// chain from b down that implements Observer, and tells proxies that want
// it the region's name.
func chainObservers(regionName string, base []Observer, b Backend) []Observer {
	out := append([]Observer(nil), base...)
	for b != nil {
		if o, ok := b.(Observer); ok {
			out = append(out, o)
		}
		if n, ok := b.(RegionNameSetter); ok {
			n.SetRegionName(regionName)
		}
		u, ok := b.(interface{ Unwrap() Backend })
		if !ok {
			break
		}
		b = u.Unwrap()
	}
	return out
}

func (s *regionState) observeCreation(ctx context.Context, key string, took time.Duration, err error) {
	for _, o := range s.observers {
		o.ObserveCreation(ctx, key, took, err)
	}
}

func (s *regionState) observeLockWait(ctx context.Context, key string, waited time.Duration) {
	for _, o := range s.observers {
		o.ObserveLockWait(ctx, key, waited)
	}
}

// observed returns m timed for the observers: a waiting Acquire tries m
// once, and when another caller has it, reports how long it then waited.
func observed(m Mutex, s *regionState, key string) Mutex {
	if len(s.observers) == 0 {
		return m
	}
	return observedMutex{m, s, key}
}

type observedMutex struct {
	Mutex
	s   *regionState
	key string
}

func (m observedMutex) Acquire(ctx context.Context, wait bool) (bool, error) {
	got, err := m.Mutex.Acquire(ctx, false)
	if got || err != nil || !wait {
		return got, err
	}
	start := time.Now()
	got, err = m.Mutex.Acquire(ctx, true)
	m.s.observeLockWait(ctx, m.key, time.Since(start))
	return got, err
}
