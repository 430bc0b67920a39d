package gocache_test

import (
	"bytes"
	"fmt"
	"runtime"
	"testing"

	"github.com/dgraph-io/ristretto/v2"

	dpgocache "github.com/dogpile-go/dogpile/backends/gocache"
	"github.com/dogpile-go/dogpile/region"
)

func heapInUse() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// A ristretto-backed region written with 10x its max_cost keeps its size
// bounded: by its own cost accounting, by the values still readable, and by
// the Go heap.
func TestRistrettoBoundedMemory(t *testing.T) {
	const valueSize = 1024
	for _, tc := range []struct {
		name    string
		args    region.Arguments
		maxCost int64
		cost    int64 // cost of one value (at least)
	}{
		// Each value costs 1: max_cost is a number of values.
		{"values", region.Arguments{"max_cost": 1000, "metrics": true}, 1000, 1},
		// Each value costs its length in bytes: max_cost is bytes.
		{"bytes", region.Arguments{"max_cost": 1 << 20, "serialize": true, "metrics": true}, 1 << 20, valueSize},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := testCtx(t)
			before := heapInUse()
			r := newRegion(t, "gocache.ristretto", tc.args)
			var client any
			switch b := r.ActualBackend().(type) {
			case *dpgocache.Backend:
				client = b.Client()
			case *region.SerializedBackend:
				client = b.Bytes().(*dpgocache.Bytes).Client()
			}
			rc := client.(*ristretto.Cache[string, any])

			capacity := tc.maxCost / tc.cost // values that fit
			n := int(10 * capacity)          // 10x max_cost written
			for i := range n {
				v := bytes.Repeat([]byte{byte(i)}, valueSize)
				if err := r.Set(ctx, fmt.Sprint("key-", i), v); err != nil {
					t.Fatal(err)
				}
			}
			used := rc.MaxCost() - rc.RemainingCost()
			m := rc.Metrics
			live := m.KeysAdded() - m.KeysEvicted()
			t.Logf("wrote %d values (%d bytes each) against max_cost %d: cost used %d, keys added %d, evicted %d, rejected %d, dropped %d",
				n, valueSize, tc.maxCost, used, m.KeysAdded(), m.KeysEvicted(), m.SetsRejected(), m.SetsDropped())
			if used > tc.maxCost {
				t.Errorf("cost in use %d exceeds max_cost %d", used, tc.maxCost)
			}
			if cost := int64(m.CostAdded() - m.CostEvicted()); cost > tc.maxCost {
				t.Errorf("cost added - evicted = %d exceeds max_cost %d", cost, tc.maxCost)
			}
			if int64(live) > capacity {
				t.Errorf("%d keys live; at most %d fit", live, capacity)
			}
			found := 0
			for i := range n {
				if _, ok, err := r.Get(ctx, fmt.Sprint("key-", i)); err != nil {
					t.Fatal(err)
				} else if ok {
					found++
				}
			}
			if int64(found) > capacity || found == 0 {
				t.Errorf("%d values readable; want between 1 and %d", found, capacity)
			}
			// The heap holds about what fits, not what was written: 10 MiB
			// went in, at most 1 MiB of values (plus ristretto's counters
			// and per-entry overhead) stays.
			after := heapInUse()
			grown := int64(after) - int64(before)
			written := int64(n) * valueSize
			t.Logf("%d values readable; heap grew %d KiB for %d KiB written", found, grown>>10, written>>10)
			if grown > written/3 {
				t.Errorf("heap grew by %d bytes after writing %d; want it bounded near max_cost", grown, written)
			}
			runtime.KeepAlive(r)
		})
	}
}
