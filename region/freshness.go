package region

import "time"

// The freshness rule, written once: how old a value may be, and whether an
// invalidation has made it stale or absent.

// freshness is the rule a call judges values by.
type freshness struct {
	maxAge      time.Duration // values older than this are stale; 0: age does not matter
	invalidated *Invalidation // values created before it are invalidated; nil: none
	early       *earlyRefresh // nil: no early refresh (reads, or a region without it)
	timeless    bool          // neither invalidation nor age matters
}

// judge is the freshness rule, written once: every value read is judged
// here, on the hit paths too, into which it is inlined (keep it inlinable:
// a value that cannot expire is then judged without a call). byTime is the
// rest of it, for values that can.
func (f *freshness) judge(cv *CachedValue) verdict {
	if cv == nil || cv.Metadata.Version != ValueVersion {
		return missing
	}
	if f.timeless {
		return fresh
	}
	return f.byTime(cv)
}

func (f *freshness) byTime(cv *CachedValue) verdict {
	created := cv.Metadata.CreatedAt
	if inv := f.invalidated; inv != nil && created.Before(inv.At) {
		if inv.Hard {
			return missing
		}
		return stale
	}
	if f.maxAge <= 0 {
		return fresh
	}
	age := time.Since(created)
	switch {
	case age > f.maxAge:
		return stale
	case f.early != nil && f.early.pick(age, f.maxAge):
		return early
	}
	return fresh
}

// freshness is the rule a call judges values by (see freshness.judge):
// values older than maxAge are stale (0: age does not matter), and the
// strategy's last invalidation is as of now. It leaves early refresh off;
// calls that may act on it set the region's.
func (s *regionState) freshness(maxAge time.Duration) freshness {
	inv := s.invalidator.LastInvalidation()
	return freshness{maxAge: maxAge, invalidated: inv, timeless: inv == nil && maxAge <= 0}
}

// maxAge is the age past which a call's values are stale (0: none).
func (s *regionState) maxAge(cs *callSettings) time.Duration {
	if cs.ignoreExp {
		return 0
	}
	return s.expirationFor(cs)
}

// expirationFor is the expiration a call uses: the call's own
// (WithExpiration; 0 means every value is expired, negative means never),
// else the region's (0: never).
func (s *regionState) expirationFor(cs *callSettings) time.Duration {
	if !cs.setExp {
		return s.expiration
	}
	switch {
	case cs.expiration == 0:
		return time.Nanosecond // dogpile's expiration_time=0: always expired
	case cs.expiration < 0:
		return 0
	}
	return cs.expiration
}

// present returns cv when ok, else nil.
func present(cv *CachedValue, ok bool) *CachedValue {
	if ok {
		return cv
	}
	return nil
}
