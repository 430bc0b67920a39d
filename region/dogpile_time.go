package region

import (
	"math"
	"time"
)

// DogpileSeconds is the creation time dogpile.cache writes in a value's
// metadata ("ct") for t: Python's time.time(), seconds since the epoch as a
// float, computed as CPython does (the nanoseconds as a float, divided by
// 1e9), so a Go and a Python process writing at the same instant write the
// same number. Times outside the range of t.UnixNano (before 1678, after
// 2262) are converted from their seconds and nanoseconds instead.
// DogpileEnvelope and package pickle's CachedValue encoding use it.
func DogpileSeconds(t time.Time) float64 {
	if y := t.Year(); y > 1678 && y < 2262 {
		return float64(t.UnixNano()) / 1e9
	}
	return float64(t.Unix()) + float64(t.Nanosecond())/1e9
}

// DogpileTime is the time a dogpile.cache "ct" names, the inverse of
// DogpileSeconds: the nanosecond nearest to secs (a float64 holds a time
// of today to about 0.2 µs). secs must be finite; the caller checks its
// range.
func DogpileTime(secs float64) time.Time {
	whole, frac := math.Modf(secs)
	return time.Unix(int64(whole), int64(math.Round(frac*1e9)))
}

// ValidDogpileSeconds reports whether secs can be a "ct" that a
// dogpile.cache process wrote: a number of seconds from 1970 (Python's
// time.time()) up to 2262, the last time a time.Time's UnixNano holds.
// DogpileEnvelope and package pickle refuse any other as corrupt.
func ValidDogpileSeconds(secs float64) bool {
	const maxSeconds = float64(math.MaxInt64 / int64(time.Second))
	return secs >= 0 && secs <= maxSeconds // false for NaN too
}
