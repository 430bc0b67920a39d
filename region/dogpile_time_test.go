package region_test

import (
	"errors"
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

// A "ct" that no dogpile.cache process writes (before 1970, past 2262, not
// a number) is refused by both readers of dogpile's metadata alike.
func TestValidDogpileSeconds(t *testing.T) {
	for secs, want := range map[float64]bool{
		0: true, 1796606678.89: true, 9.2e9: true,
		-1: false, 1e10: false, math.NaN(): false, math.Inf(1): false, math.Inf(-1): false,
	} {
		if got := region.ValidDogpileSeconds(secs); got != want {
			t.Errorf("ValidDogpileSeconds(%v) = %v, want %v", secs, got, want)
		}
	}
	for _, head := range []string{`{"ct": -1.5, "v": 2}`, `{"ct": 1e10, "v": 2}`} {
		if _, _, err := region.DogpileEnvelope.Parse([]byte(head + "|x")); !errors.Is(err, region.ErrCorruptValue) {
			t.Errorf("%s: err = %v, want ErrCorruptValue", head, err)
		}
	}
}
