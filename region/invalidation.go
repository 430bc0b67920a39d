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
	// LastInvalidation returns the latest invalidation, or nil when there
	// has been none. The region only reads it: return the same value until
	// the next invalidation rather than a new one on each call.
	LastInvalidation() *Invalidation
}

// Invalidation is an invalidation a strategy recorded.
type Invalidation struct {
	At   time.Time // when: values created before it are invalidated
	Hard bool      // hard (they read as absent) or soft (they read as expired)
}

// NewInvalidationStrategy returns the default, in-process strategy.
func NewInvalidationStrategy() InvalidationStrategy { return &localInvalidation{} }

type localInvalidation struct {
	last atomic.Pointer[Invalidation]
}

func (l *localInvalidation) Invalidate(hard bool) {
	l.last.Store(&Invalidation{At: time.Now(), Hard: hard})
}

func (l *localInvalidation) LastInvalidation() *Invalidation { return l.last.Load() }
