package region

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// SharedInvalidationOptions configure NewSharedInvalidation.
type SharedInvalidationOptions struct {
	// Key is where the invalidation record is stored (before the region's
	// key mangler). Default: "dogpile.invalidation:" + the region's name.
	Key string
	// CacheFor is how long a process trusts the record it last read before
	// reading it again: another process's Invalidate is seen within about
	// this long. Default one second.
	CacheFor time.Duration
	// Timeout bounds each read or write of the record. Default one second.
	Timeout time.Duration
}

// SharedInvalidation is an InvalidationStrategy that keeps the invalidation
// timestamp in the region's own backend, so Invalidate in one process is
// honoured by every process sharing the backend (dogpile.cache documents
// this only as a recipe). Reads of the record are cached for CacheFor and
// refreshed by a background goroutine, so LastInvalidation, called on every
// read, costs two atomic loads and no round trip. Close the region (or the
// strategy) to stop the goroutine.
//
// Values are judged by their creation time against the invalidation time,
// which come from different hosts: keep the hosts' clocks in step (NTP),
// as any shared-timestamp scheme needs. A record that disappears from the
// backend is written back by the next process that refreshes and still
// remembers it.
type SharedInvalidation struct {
	region atomic.Pointer[Region]
	opts   SharedInvalidationOptions

	last atomic.Pointer[Invalidation] // the latest invalidation known here; nil: none

	started atomic.Bool // the refresher was started (or the strategy closed)
	startMu sync.Mutex  // guards starting against closing
	closed  bool        // guarded by startMu
	stop    chan struct{}
	wg      sync.WaitGroup
}

// invalidationRecord is what is stored in the backend.
type invalidationRecord struct {
	At   int64 `msgpack:"at" json:"at"` // Unix nanoseconds; 0: never invalidated
	Hard bool  `msgpack:"hard" json:"hard"`
}

// invalidation is the invalidation the record holds; nil: none.
func (r invalidationRecord) invalidation() *Invalidation {
	if r.At == 0 {
		return nil
	}
	return &Invalidation{At: time.Unix(0, r.At), Hard: r.Hard}
}

// NewSharedInvalidation returns a strategy for r that keeps its record in
// r's backend. Pass it to r.Configure with WithInvalidator.
func NewSharedInvalidation(r *Region, opts SharedInvalidationOptions) *SharedInvalidation {
	if opts.Key == "" {
		opts.Key = "dogpile.invalidation:" + r.Name()
	}
	if opts.CacheFor <= 0 {
		opts.CacheFor = time.Second
	}
	if opts.Timeout <= 0 {
		opts.Timeout = time.Second
	}
	s := &SharedInvalidation{opts: opts, stop: make(chan struct{})}
	s.region.Store(r)
	return s
}

// bind attaches the strategy to the region it was configured on, which
// Configure does, so a strategy handed to another region serves that one.
func (s *SharedInvalidation) bind(r *Region) { s.region.Store(r) }

// start starts the refresher on first use and reads the record once: in
// the caller when wait is set, else in the refresher. The first read runs
// outside any lock, so an ErrorHandler that reads the region meanwhile does
// not deadlock; callers during it see the record as it was (none).
func (s *SharedInvalidation) start(wait bool) {
	if s.started.Load() {
		return
	}
	s.startMu.Lock()
	if s.closed || s.started.Load() {
		s.startMu.Unlock()
		return
	}
	s.started.Store(true)
	s.wg.Add(1)
	s.startMu.Unlock()
	go func() {
		defer s.wg.Done()
		if !wait {
			s.Refresh(context.Background())
		}
		t := time.NewTicker(s.opts.CacheFor)
		defer t.Stop()
		for {
			select {
			case <-s.stop:
				return
			case <-t.C:
				s.Refresh(context.Background())
			}
		}
	}()
	if wait {
		s.Refresh(context.Background())
	}
}

// Close stops the background refresher. Region.Close calls it.
func (s *SharedInvalidation) Close() error {
	s.startMu.Lock()
	if s.closed {
		s.startMu.Unlock()
		return nil
	}
	s.closed = true
	s.started.Store(true) // nothing starts after Close
	close(s.stop)
	s.startMu.Unlock()
	s.wg.Wait()
	return nil
}

func (s *SharedInvalidation) backendKey(st *regionState) string { return st.mangle(s.opts.Key) }

// Refresh reads the shared record now. Errors go to the region's
// ErrorHandler and leave the last known record in place.
func (s *SharedInvalidation) Refresh(ctx context.Context) {
	st := s.region.Load().state.Load()
	if st == nil {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, s.opts.Timeout)
	defer cancel()
	cv, ok, err := st.backend.Get(ctx, s.backendKey(st))
	if err != nil {
		s.region.Load().reportError(ctx, s.opts.Key, fmt.Errorf("reading the shared invalidation record: %w", err))
		return
	}
	var rec invalidationRecord // none: never invalidated
	if ok {
		if rec, err = payloadAs[invalidationRecord](s.opts.Key, cv.Payload); err != nil {
			s.region.Load().reportError(ctx, s.opts.Key, fmt.Errorf("reading the shared invalidation record: %w", err))
			return
		}
	}
	read := rec.invalidation()
	// The timestamp only moves forward: a newer record replaces ours, and a
	// record older than ours (or none: evicted, expired, server restarted
	// or moved) gets ours written back, so every process converges on the
	// latest invalidation for as long as any of them remembers it.
	for {
		cur := s.last.Load()
		switch {
		case cur != nil && (read == nil || cur.At.After(read.At)):
			if err := s.write(ctx, st, cur); err != nil {
				s.region.Load().reportError(ctx, s.opts.Key, err)
			}
			return
		case cur == nil && read == nil,
			cur != nil && cur.At.Equal(read.At) && cur.Hard == read.Hard:
			return
		}
		if s.last.CompareAndSwap(cur, read) {
			return
		}
	}
}

// Invalidate records an invalidation now, in this process at once and in
// the backend for the others. A failed write goes to the region's
// ErrorHandler; InvalidateContext returns it instead.
func (s *SharedInvalidation) Invalidate(hard bool) {
	if err := s.InvalidateContext(context.Background(), hard); err != nil {
		s.region.Load().reportError(context.Background(), s.opts.Key, err)
	}
}

// InvalidateContext is Invalidate that writes the record within ctx (and
// the strategy's Timeout) and returns the write's error. The invalidation
// holds in this process even when the write fails; the background refresh
// writes it back later (see Refresh). The write is the only call it waits
// for, so it returns within Timeout: on the strategy's first use the record
// is read in the background (an invalidation made now is newer than any
// record it could find).
func (s *SharedInvalidation) InvalidateContext(ctx context.Context, hard bool) error {
	inv := &Invalidation{At: time.Now(), Hard: hard}
	s.last.Store(inv)
	s.start(false)
	st := s.region.Load().state.Load()
	if st == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, s.opts.Timeout)
	defer cancel()
	return s.write(ctx, st, inv)
}

// write stores inv as the shared record.
func (s *SharedInvalidation) write(ctx context.Context, st *regionState, inv *Invalidation) error {
	cv := CachedValue{Payload: invalidationRecord{At: inv.At.UnixNano(), Hard: inv.Hard}, Metadata: Metadata{CreatedAt: time.Now(), Version: ValueVersion}}
	if err := st.backend.Set(ctx, s.backendKey(st), cv); err != nil {
		return fmt.Errorf("writing the shared invalidation record: %w", err)
	}
	return nil
}

// LastInvalidation reports the latest invalidation known to this process:
// its own, or another process's as last read from the backend. The first
// call reads the record (bounded by Timeout) and starts the refresher.
func (s *SharedInvalidation) LastInvalidation() *Invalidation {
	if !s.started.Load() {
		s.start(true)
	}
	return s.last.Load()
}
