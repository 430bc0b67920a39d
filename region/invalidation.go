package region

import (
	"math"
	"sync/atomic"
	"time"
)

// InvalidationStrategy decides which values an Invalidate call has made
// stale, as dogpile's RegionInvalidationStrategy does. A value is judged by
// its creation time: values created before the last invalidation are
// invalidated. Hard invalidation makes them read as absent; soft
// invalidation makes them read as expired (the old value is still served to
// other callers while one caller regenerates it).
//
// The default strategy keeps the timestamp in the process; an
// implementation that keeps it in a shared backend makes one process's
// Invalidate reach every process. Methods are called on every read, so they
// must be cheap and safe for concurrent use.
type InvalidationStrategy interface {
	// Invalidate records an invalidation now, hard or soft.
	Invalidate(hard bool)
	// IsInvalidated reports whether a value created at created is
	// invalidated at all.
	IsInvalidated(created time.Time) bool
	// IsHardInvalidated reports whether it is hard-invalidated.
	IsHardInvalidated(created time.Time) bool
	// IsSoftInvalidated reports whether it is soft-invalidated.
	IsSoftInvalidated(created time.Time) bool
	// WasHardInvalidated reports whether the last invalidation was hard.
	WasHardInvalidated() bool
	// WasSoftInvalidated reports whether the last invalidation was soft.
	WasSoftInvalidated() bool
}

// NewInvalidationStrategy returns the default, in-process strategy.
func NewInvalidationStrategy() InvalidationStrategy { return &localInvalidation{} }

type invalidationMark struct {
	at   int64 // Unix nanoseconds; neverInvalidated: none
	hard bool
}

// neverInvalidated is the mark time of a strategy known never to have been
// invalidated: no creation time is before it (not even time.Time{}'s).
const neverInvalidated = math.MinInt64

type localInvalidation struct {
	mark atomic.Pointer[invalidationMark]
}

func (l *localInvalidation) Invalidate(hard bool) {
	l.mark.Store(&invalidationMark{at: time.Now().UnixNano(), hard: hard})
}

func (l *localInvalidation) IsInvalidated(created time.Time) bool {
	m := l.mark.Load()
	return m != nil && created.UnixNano() < m.at
}

func (l *localInvalidation) IsHardInvalidated(created time.Time) bool {
	m := l.mark.Load()
	return m != nil && m.hard && created.UnixNano() < m.at
}

func (l *localInvalidation) IsSoftInvalidated(created time.Time) bool {
	m := l.mark.Load()
	return m != nil && !m.hard && created.UnixNano() < m.at
}

func (l *localInvalidation) WasHardInvalidated() bool {
	m := l.mark.Load()
	return m != nil && m.hard
}

func (l *localInvalidation) WasSoftInvalidated() bool {
	m := l.mark.Load()
	return m != nil && !m.hard
}
