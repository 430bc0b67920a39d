package region_test

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/dogpile-go/dogpile/region"
)

// TestDogpileTimeRoundTrip: a creation time written as dogpile's "ct" and
// read back is the same time to the precision of a float64 (under 1 µs
// until 2100), and times outside UnixNano's range still convert.
func TestDogpileTimeRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for range 100_000 {
		want := time.Unix(0, rng.Int64N(int64(130*365*24*time.Hour))) // 1970 to 2100
		secs := region.DogpileSeconds(want)
		if secs != float64(want.UnixNano())/1e9 {
			t.Fatalf("%v: %v seconds, want Python's float(ns) / 1e9", want, secs)
		}
		if d := region.DogpileTime(secs).Sub(want); d < -time.Microsecond || d > time.Microsecond {
			t.Fatalf("%v: read back %v off", want, d)
		}
	}
	for _, want := range []time.Time{{}, time.Date(3000, 1, 2, 3, 4, 5, 600_000_000, time.UTC), time.Date(1600, 1, 1, 0, 0, 0, 0, time.UTC)} {
		secs := region.DogpileSeconds(want)
		if math.IsInf(secs, 0) || math.IsNaN(secs) || math.Abs(secs-float64(want.Unix())) > 1 {
			t.Errorf("%v: %v seconds", want, secs)
		}
		if d := region.DogpileTime(secs).Sub(want); d < -100*time.Microsecond || d > 100*time.Microsecond {
			t.Errorf("%v: read back %v off", want, d)
		}
	}
}
