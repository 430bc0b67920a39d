package memory_test

import (
	"context"
	"testing"
	"time"

	"go.uber.org/goleak"

	_ "github.com/dogpile-go/dogpile/backends/memory"
	"github.com/dogpile-go/dogpile/region"
	"github.com/dogpile-go/dogpile/region/regiontest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestMemoryBackend(t *testing.T) { regiontest.RunBackendTests(t, "memory", nil) }

func TestMemoryBackendWithTTL(t *testing.T) {
	regiontest.RunBackendTests(t, "memory", region.Arguments{"expiration_time": "1h", "cleanup_interval": "50ms"})
}

func TestMemorySerializedBackend(t *testing.T) {
	regiontest.RunBackendTests(t, "memory_serialized", nil)
}

func TestKeystoneMemoryBackend(t *testing.T) {
	regiontest.RunBackendTests(t, "openstack.kvs.Memory", nil)
}

// The suite on regions with the production features on, set so that none
// changes what the suite expects: the dogpile lock behaves the same with
// its wrappers around it.
func TestMemoryBackendWithProductionFeatures(t *testing.T) {
	(&regiontest.Suite{Backend: "memory", RegionOptions: []region.Option{
		region.WithFailSafe(region.FailSafe{Grace: time.Hour, SoftTimeout: time.Minute, HardTimeout: time.Minute, CreatorTimeout: time.Minute}),
		region.WithEarlyRefresh(1),
		region.WithLockLeases(),
		region.WithStrictBackendErrors(),
	}}).Run(t)
}

// The memory backend's own expiration_time drops values, whatever the
// region's expiration (none here).
func TestMemoryHardTTLDropsValues(t *testing.T) {
	ctx := context.Background()
	r := region.New("ttl")
	if err := r.Configure("memory", region.WithArguments(region.Arguments{"expiration_time": "1s", "cleanup_interval": "50ms"})); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = r.Close() })
	if err := r.Set(ctx, "k", "v"); err != nil {
		t.Fatal(err)
	}
	if v, ok, _ := r.Get(ctx, "k"); !ok || v != "v" {
		t.Fatalf("Get right after Set = %v, %v", v, ok)
	}
	deadline := time.Now().Add(6 * time.Second)
	for {
		_, ok, err := r.Get(ctx, "k")
		if err != nil {
			t.Fatal(err)
		}
		if !ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the value outlived the backend's 1s expiration_time by seconds")
		}
		time.Sleep(10 * time.Millisecond)
	}
	// The backend, not only the region, has let it go.
	if _, ok, _ := r.ActualBackend().Get(ctx, "k"); ok {
		t.Fatal("the backend still holds the expired value")
	}
}

// null stores nothing: every read misses, GetOrCreate calls its creator
// each time, and its lock never blocks. (The generic suite, which expects a
// backend to keep what it is given, does not apply to it: this is its
// test, as dogpile.cache's null backend has its own.)
func TestNullBackendStoresNothing(t *testing.T) {
	ctx := context.Background()
	r := region.New("null")
	if err := r.Configure("null"); err != nil {
		t.Fatal(err)
	}
	if err := r.Set(ctx, "k", "v"); err != nil {
		t.Fatal(err)
	}
	if _, ok, err := r.Get(ctx, "k"); ok || err != nil {
		t.Fatalf("Get after Set = %v, %v; want a miss", ok, err)
	}
	if vals, err := r.GetMulti(ctx, []string{"k"}); err != nil || vals[0] != region.NoValue {
		t.Fatalf("GetMulti = %v, %v", vals, err)
	}
	calls := 0
	for range 3 {
		v, err := r.GetOrCreate(ctx, "k", func(context.Context) (any, error) { calls++; return calls, nil })
		if err != nil || v != calls {
			t.Fatalf("GetOrCreate = %v, %v", v, err)
		}
	}
	if calls != 3 {
		t.Fatalf("creator ran %d times for 3 calls; null caches nothing", calls)
	}
	if locked, err := r.KeyIsLocked(ctx, "k"); locked || err != nil {
		t.Fatalf("KeyIsLocked = %v, %v", locked, err)
	}
}
