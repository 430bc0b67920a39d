package region

import (
	"sync/atomic"
	"time"
)

// InvalidationStrategy records a region's invalidations and reports the
// latest, as dogpile's RegionInvalidationStrategy does. The region derives
// the rest from that report: a value created before the last invalidation
// is invalidated; after a hard invalidation it reads as absent, after a
// soft one as expired (the old value is still served to other callers
// while one caller regenerates it).
//
// The default strategy keeps the invalidation in the process; an
// implementation that keeps it in a shared backend makes one process's
// Invalidate reach every process (see NewSharedInvalidation).
// LastInvalidation is called on every read, so it must be cheap and safe for
// concurrent use: keep the invalidation in memory and refresh it in the
// background rather than reading it from a server on each call.
type InvalidationStrategy interface {
	// Invalidate records an invalidation now, hard or soft.
	Invalidate(hard bool)
	// LastInvalidation reports the latest invalidation: when it was (the
	// zero time: never) and whether it was hard.
	LastInvalidation() (at time.Time, hard bool)
}

// NewInvalidationStrategy returns the default, in-process strategy.
func NewInvalidationStrategy() InvalidationStrategy { return &localInvalidation{} }

// invalidationMark is an invalidation as the built-in strategies keep it.
type invalidationMark struct {
	at   time.Time // the zero time: never invalidated
	hard bool
}

// last reports m as LastInvalidation does; nil is no invalidation.
func (m *invalidationMark) last() (time.Time, bool) {
	if m == nil {
		return time.Time{}, false
	}
	return m.at, m.hard
}

type localInvalidation struct {
	mark atomic.Pointer[invalidationMark]
}

func (l *localInvalidation) Invalidate(hard bool) {
	l.mark.Store(&invalidationMark{at: time.Now(), hard: hard})
}

func (l *localInvalidation) LastInvalidation() (time.Time, bool) { return l.mark.Load().last() }
