package fakememcached_test

import (
	"errors"
	"testing"

	"github.com/bradfitz/gomemcache/memcache"
	"go.uber.org/goleak"

	"github.com/dogpile-go/dogpile/internal/fakememcached"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// The server keeps memcached's expiration rules on the clock the test
// moves: relative and absolute exptimes, "never", "expired now", touch,
// and the add/cas/replace conditions.
func TestExpirationOnTheTestsClock(t *testing.T) {
	s := fakememcached.Start(t)
	c := memcache.New(s.Addr())
	t.Cleanup(func() { _ = c.Close() })
	set := func(key string, exp int32) {
		t.Helper()
		if err := c.Set(&memcache.Item{Key: key, Value: []byte("v"), Expiration: exp}); err != nil {
			t.Fatalf("set %s: %v", key, err)
		}
	}
	there := func(key string) bool {
		t.Helper()
		_, err := c.Get(key)
		if err != nil && !errors.Is(err, memcache.ErrCacheMiss) {
			t.Fatalf("get %s: %v", key, err)
		}
		return err == nil
	}
	set("relative", 2)
	set("absolute", int32(fakememcached.Epoch+s.Now()+3))
	set("never", 0)
	set("expired", -1)
	if there("expired") {
		t.Fatal("an item with a negative exptime is there")
	}
	s.Tick(1)
	if !there("relative") || !there("absolute") {
		t.Fatal("items gone one tick after they were written")
	}
	s.Tick(1)
	if there("relative") {
		t.Fatal("an item written with exptime 2 is there two ticks later")
	}
	if err := c.Touch("absolute", 5); err != nil {
		t.Fatal(err)
	}
	s.Tick(4)
	if !there("absolute") {
		t.Fatal("a touched item gone before its new exptime")
	}
	s.Tick(1)
	if there("absolute") || !there("never") {
		t.Fatal("touch's exptime not kept, or an item without one expired")
	}

	if err := c.Add(&memcache.Item{Key: "never", Value: []byte("w")}); !errors.Is(err, memcache.ErrNotStored) {
		t.Fatalf("add of a present key: %v", err)
	}
	if err := c.Replace(&memcache.Item{Key: "absent", Value: []byte("w")}); !errors.Is(err, memcache.ErrNotStored) {
		t.Fatalf("replace of an absent key: %v", err)
	}
	it, err := c.Get("never")
	if err != nil {
		t.Fatal(err)
	}
	it.Value = []byte("w")
	if err := c.CompareAndSwap(it); err != nil {
		t.Fatalf("cas with the item's token: %v", err)
	}
	if err := c.CompareAndSwap(it); !errors.Is(err, memcache.ErrCASConflict) {
		t.Fatalf("cas with a stale token: %v", err)
	}
	if exp, ok := s.Expiry("never"); !ok || exp != 0 {
		t.Fatalf("Expiry = %d, %v; want 0 (never), true", exp, ok)
	}
	if err := c.Delete("never"); err != nil || there("never") {
		t.Fatalf("delete: %v", err)
	}
}
