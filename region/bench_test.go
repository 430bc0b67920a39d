package region_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dogpile-go/dogpile/region"
)

// BenchmarkStampedeManyKeys: many keys expired together, each read by
// many callers at once. Every call finds a stale value and goes to the
// region's flights: the first caller of a key regenerates it (the creator
// takes 100µs; WithShouldCache(false) keeps the old value, so the key stays
// stale for the next round), the others are served the old value at once.
// It measures what callers of different keys cost each other in the
// flights' bookkeeping.
func BenchmarkStampedeManyKeys(b *testing.B) {
	const keys = 4096
	ctx := context.Background()
	r := region.New("many-keys")
	if err := r.Configure("memory", region.WithExpirationTime(time.Minute)); err != nil {
		b.Fatal(err)
	}
	defer r.Close()
	old := region.CachedValue{Payload: "old", Metadata: region.Metadata{CreatedAt: time.Now().Add(-time.Hour), Version: region.ValueVersion}}
	names := make([]string, keys)
	for i := range names {
		names[i] = fmt.Sprint("key-", i)
		if err := r.Backend().Set(ctx, names[i], old); err != nil {
			b.Fatal(err)
		}
	}
	creator := func(context.Context) (any, error) {
		time.Sleep(100 * time.Microsecond)
		return "fresh", nil
	}
	noStore := region.WithShouldCache(func(any) bool { return false })
	var next atomic.Uint64
	b.SetParallelism(32)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			k := names[next.Add(1)%keys]
			if _, err := r.GetOrCreate(ctx, k, creator, noStore); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
