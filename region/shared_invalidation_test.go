package region_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dogpile-go/dogpile/backends/memory"
	"github.com/dogpile-go/dogpile/region"
)

var sharedStore = memory.NewBytes()

func init() {
	// Every region configured on "test.shared" talks to one store, as
	// processes sharing a memcached server do.
	region.RegisterBackend("test.shared", func(region.Arguments) (region.Backend, error) {
		return region.NewSerializedBackend(sharedStore, nil), nil
	})
}

// wasInvalidated reports whether s's last invalidation was a hard one (hard)
// or a soft one.
func wasInvalidated(s region.InvalidationStrategy, hard bool) bool {
	inv := s.LastInvalidation()
	return inv != nil && inv.Hard == hard
}

func sharedRegion(t *testing.T, name string, cacheFor time.Duration) *region.Region {
	t.Helper()
	r := region.New(name)
	inv := region.NewSharedInvalidation(r, region.SharedInvalidationOptions{Key: "inv:" + t.Name(), CacheFor: cacheFor})
	if err := r.Configure("test.shared", region.WithInvalidator(inv), region.WithExpirationTime(time.Hour)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = r.Close() })
	return r
}

func TestSharedInvalidationReachesOtherRegions(t *testing.T) {
	const cacheFor = 200 * time.Millisecond
	a := sharedRegion(t, "process-a", cacheFor)
	b := sharedRegion(t, "process-b", cacheFor)
	ctx := context.Background()
	key := "shared:" + t.Name()
	if err := a.Set(ctx, key, "v1"); err != nil {
		t.Fatal(err)
	}
	if v, ok, _ := b.Get(ctx, key); !ok || v != "v1" {
		t.Fatalf("b reads %v, %v before invalidation", v, ok)
	}
	time.Sleep(5 * time.Millisecond)
	a.Invalidate(true)
	if _, ok, _ := a.Get(ctx, key); ok {
		t.Fatal("the invalidating region still reads the value")
	}
	deadline := time.Now().Add(cacheFor + 2*time.Second)
	for {
		if _, ok, _ := b.Get(ctx, key); !ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the other region never saw the invalidation")
		}
		time.Sleep(10 * time.Millisecond)
	}
	// Soft invalidation reaches it as well: old values read as expired.
	if err := a.Set(ctx, key, "v2"); err != nil {
		t.Fatal(err)
	}
	time.Sleep(5 * time.Millisecond)
	b.Invalidate(false)
	deadline = time.Now().Add(cacheFor + 2*time.Second)
	for {
		_, ok, _ := a.Get(ctx, key)
		stale, okStale, _ := a.Get(ctx, key, region.IgnoreExpiration())
		if !ok && okStale && stale == "v2" && wasInvalidated(a.Invalidator(), false) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the soft invalidation never reached the other region")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestLocalInvalidationStaysLocal(t *testing.T) {
	// Without the shared strategy another region sharing the store does not
	// see the invalidation: the test above fails without the feature.
	ctx := context.Background()
	mk := func(name string) *region.Region {
		r := region.New(name)
		if err := r.Configure("test.shared", region.WithExpirationTime(time.Hour)); err != nil {
			t.Fatal(err)
		}
		return r
	}
	a, b := mk("local-a"), mk("local-b")
	key := "local:" + t.Name()
	_ = a.Set(ctx, key, "v")
	time.Sleep(5 * time.Millisecond)
	a.Invalidate(true)
	time.Sleep(300 * time.Millisecond)
	if _, ok, _ := b.Get(ctx, key); !ok {
		t.Fatal("a local invalidation reached another region")
	}
}

func TestSharedInvalidationRecordRewritten(t *testing.T) {
	a := sharedRegion(t, "rewrite-a", 50*time.Millisecond)
	ctx := context.Background()
	key := "rewrite:" + t.Name()
	if err := a.Set(ctx, key, "v"); err != nil {
		t.Fatal(err)
	}
	time.Sleep(5 * time.Millisecond)
	a.Invalidate(true)
	// The record vanishes (evicted, say); a refresh writes it back.
	if err := sharedStore.Delete(ctx, "inv:"+t.Name()); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(3 * time.Second)
	for {
		if _, ok, _ := sharedStore.GetSerialized(ctx, "inv:"+t.Name()); ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the lost invalidation record was not written back")
		}
		time.Sleep(10 * time.Millisecond)
	}
	// A region that starts now still honours the invalidation.
	b := sharedRegion(t, "rewrite-b", 50*time.Millisecond)
	if _, ok, _ := b.Get(ctx, key); ok {
		t.Fatal("a new region read a value invalidated before the record was lost")
	}
}

// refusingSets is a proxy whose sets fail.
type refusingSets struct{ region.ProxyBackend }

var errRefused = errors.New("set refused")

func (refusingSets) Set(context.Context, string, region.CachedValue) error { return errRefused }

func TestInvalidateContextReturnsTheWriteError(t *testing.T) {
	ctx := context.Background()
	r := region.New("inv-ctx")
	inv := region.NewSharedInvalidation(r, region.SharedInvalidationOptions{Key: "inv:" + t.Name()})
	if err := r.Configure("test.shared", region.WithInvalidator(inv), region.WithExpirationTime(time.Hour), region.WithWrap(&refusingSets{})); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = r.Close() })
	if err := r.InvalidateContext(ctx, true); !errors.Is(err, errRefused) {
		t.Fatalf("InvalidateContext = %v; want the backend's write error", err)
	}
	if !wasInvalidated(inv, true) {
		t.Fatal("a failed write must still invalidate in this process")
	}

	// The in-process strategy has nothing to write.
	local := region.New("inv-ctx-local")
	if err := local.InvalidateContext(ctx, true); !errors.Is(err, region.ErrNotConfigured) {
		t.Fatalf("before Configure: %v; want ErrNotConfigured", err)
	}
	if err := local.Configure("memory"); err != nil {
		t.Fatal(err)
	}
	if err := local.InvalidateContext(ctx, false); err != nil || !wasInvalidated(local.Invalidator(), false) {
		t.Fatalf("InvalidateContext on the default strategy: %v, soft %v", err, wasInvalidated(local.Invalidator(), false))
	}
}

// With no record in the backend, nothing is invalidated: not even a value
// whose creation time is the zero time.
func TestSharedInvalidationWithoutRecordInvalidatesNothing(t *testing.T) {
	ctx := context.Background()
	r := region.New("inv-none")
	inv := region.NewSharedInvalidation(r, region.SharedInvalidationOptions{Key: "inv:" + t.Name()})
	// memory keeps values as they are (an envelope has no room for times
	// before 1970).
	if err := r.Configure("memory", region.WithInvalidator(inv)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = r.Close() })
	old := region.CachedValue{Payload: "ancient", Metadata: region.Metadata{Version: region.ValueVersion}}
	if err := r.Backend().Set(ctx, "k", old); err != nil {
		t.Fatal(err)
	}
	for range 2 { // before and after the strategy has read the (absent) record
		v, err := r.GetOrCreate(ctx, "k", func(context.Context) (any, error) { return "new", nil })
		if err != nil || v != "ancient" {
			t.Fatalf("GetOrCreate = %v, %v; want the stored value", v, err)
		}
		if wasInvalidated(inv, false) || wasInvalidated(inv, true) {
			t.Fatal("a region never invalidated reports an invalidation")
		}
	}
}

// recordReads counts reads of one key.
type recordReads struct {
	region.ProxyBackend
	key string
	n   atomic.Int32
}

func (p *recordReads) Get(ctx context.Context, key string) (region.CachedValue, bool, error) {
	if key == p.key {
		p.n.Add(1)
	}
	return p.Proxied.Get(ctx, key)
}

// Reads of cached values cost no extra round trip: the record is read once
// when first needed, then only by the refresher, every CacheFor.
func TestSharedInvalidationRecordReadOncePerInterval(t *testing.T) {
	ctx := context.Background()
	key := "inv:" + t.Name()
	counter := &recordReads{key: key}
	r := region.New("inv-reads")
	inv := region.NewSharedInvalidation(r, region.SharedInvalidationOptions{Key: key, CacheFor: time.Minute})
	if err := r.Configure("test.shared", region.WithInvalidator(inv), region.WithExpirationTime(time.Hour), region.WithWrap(counter)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = r.Close() })
	if err := r.Set(ctx, "k", "v"); err != nil {
		t.Fatal(err)
	}
	for range 1000 {
		if _, ok, err := r.Get(ctx, "k"); !ok || err != nil {
			t.Fatalf("Get = %v, %v", ok, err)
		}
		if _, err := r.GetOrCreate(ctx, "k", func(context.Context) (any, error) { return "new", nil }); err != nil {
			t.Fatal(err)
		}
	}
	if n := counter.n.Load(); n != 1 {
		t.Fatalf("2,000 reads read the invalidation record %d times; want once (then once per CacheFor)", n)
	}
}

// blockingRecordReads is a proxy whose reads of one key wait until the
// test releases them or the call's context ends.
type blockingRecordReads struct {
	region.ProxyBackend
	key     string
	release chan struct{}
	reads   atomic.Int32
}

func (p *blockingRecordReads) Get(ctx context.Context, key string) (region.CachedValue, bool, error) {
	if key == p.key {
		p.reads.Add(1)
		select {
		case <-p.release:
		case <-ctx.Done():
			return region.CachedValue{}, false, ctx.Err()
		}
	}
	return p.Proxied.Get(ctx, key)
}

// An Invalidate on the strategy's first use waits for its write only: the
// record is read in the background (an invalidation made now is newer than
// any record it could find), so Invalidate returns within one Timeout, not
// two, when the record's server hangs. Here a read of the record never
// ends before Timeout (an hour): Invalidate returns at once all the same.
func TestSharedInvalidationFirstInvalidateDoesNotWaitForTheRead(t *testing.T) {
	ctx := context.Background()
	key := "inv:" + t.Name()
	for _, viaContext := range []bool{false, true} {
		blocking := &blockingRecordReads{key: key, release: make(chan struct{})}
		r := region.New("inv-first")
		inv := region.NewSharedInvalidation(r, region.SharedInvalidationOptions{Key: key, Timeout: time.Hour, CacheFor: time.Hour})
		if err := r.Configure("test.shared", region.WithInvalidator(inv), region.WithExpirationTime(time.Hour), region.WithWrap(blocking)); err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() {
			if viaContext {
				done <- r.InvalidateContext(ctx, true)
				return
			}
			r.Invalidate(true)
			done <- nil
		}()
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("InvalidateContext: %v", err)
			}
		case <-time.After(time.Minute):
			t.Fatalf("Invalidate (context %v) on first use waited for the record's read", viaContext)
		}
		if !wasInvalidated(inv, true) {
			t.Fatal("the invalidation does not hold in this process")
		}
		if _, ok, _ := sharedStore.GetSerialized(ctx, key); !ok {
			t.Fatal("the invalidation record was not written")
		}
		// The background read (released now) finds the record just written
		// and keeps the invalidation.
		close(blocking.release)
		if err := r.Close(); err != nil {
			t.Fatal(err)
		}
		if n := blocking.reads.Load(); n > 1 {
			t.Fatalf("the record was read %d times; want at most once", n)
		}
		if !wasInvalidated(inv, true) {
			t.Fatal("the background read lost this process's invalidation")
		}
		if err := sharedStore.Delete(ctx, key); err != nil {
			t.Fatal(err)
		}
	}
}
