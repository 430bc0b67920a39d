package memory_test

import (
	"context"
	"fmt"
	"time"

	"github.com/dogpile-go/dogpile/backends/memory"
	"github.com/dogpile-go/dogpile/region"
)

// A region on the memory backend bounded to 1,000 values: past the bound,
// the values least likely to be used again are evicted (W-TinyLFU). The
// region's expiration still decides when a value is stale.
func ExampleBounded() {
	ctx := context.Background()
	r := region.New("users")
	err := r.Configure("memory",
		region.WithExpirationTime(10*time.Minute),
		region.WithArguments(region.Arguments{"max_size": 1000}))
	if err != nil {
		panic(err)
	}
	defer r.Close()

	for id := range 1500 {
		_, err := region.GetOrCreateAs(ctx, r, fmt.Sprint("user:", id), func(context.Context) (string, error) {
			return fmt.Sprint("user #", id), nil
		})
		if err != nil {
			panic(err)
		}
	}

	b, _ := region.BackendAs[*memory.Bounded](r.ActualBackend())
	b.CleanUp() // run pending maintenance now, so the counts are exact
	fmt.Println("values kept:", b.Len())
	fmt.Println("evicted:", b.Evictions())
	// Output:
	// values kept: 1000
	// evicted: 500
}
