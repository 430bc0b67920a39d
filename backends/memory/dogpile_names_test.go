package memory_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/dogpile-go/dogpile/backends/memory"
	"github.com/dogpile-go/dogpile/region"
)

// TestDogpileNames: the dogpile.cache and oslo.cache names behave as the
// backends they stand for.
func TestDogpileNames(t *testing.T) {
	ctx := context.Background()
	type item struct{ N []int }
	for _, c := range []struct {
		name     string
		args     region.Arguments
		stores   bool
		isolated bool // a reader gets its own copy
	}{
		{"dogpile.cache.memory", region.Arguments{"cache_dict": "ignored"}, true, false},
		{"dogpile.cache.memory_pickle", nil, true, true},
		{"dogpile.cache.null", region.Arguments{"distributed_lock": true}, false, false},
		{"oslo_cache.dict", region.Arguments{"expiration_time": 60}, true, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := region.New(c.name)
			if err := r.Configure(c.name, region.WithArguments(c.args)); err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			v := &item{N: []int{1}}
			if err := r.Set(ctx, "k", v); err != nil {
				t.Fatal(err)
			}
			got, ok, err := region.GetAs[*item](ctx, r, "k")
			if err != nil || ok != c.stores {
				t.Fatalf("Get = %v, %v, %v; want found=%v", got, ok, err, c.stores)
			}
			if !ok {
				return
			}
			if same := got == v; same == c.isolated {
				t.Errorf("reader got the stored pointer: %v, want isolated copies: %v", same, c.isolated)
			}
			if len(got.N) != 1 || got.N[0] != 1 {
				t.Errorf("value %+v", got)
			}
		})
	}
	for _, name := range []string{"dogpile.cache.memory", "dogpile.cache.memory_pickle", "dogpile.cache.null", "oslo_cache.dict"} {
		_, err := region.NewBackend(name, region.Arguments{"url": "127.0.0.1:11211"})
		var ue *region.UnknownArgumentError
		if !errors.As(err, &ue) || ue.Backend != name {
			t.Errorf("%s with url: err = %v, want an *UnknownArgumentError", name, err)
		}
	}
}

// TestOsloDictExpiration: oslo_cache.dict drops a value expiration_time
// after it was set, whatever the region's expiration.
func TestOsloDictExpiration(t *testing.T) {
	b, err := region.NewBackend("oslo_cache.dict", region.Arguments{"expiration_time": "0.2"})
	if err != nil {
		t.Fatal(err)
	}
	defer b.(*memory.Backend).Close()
	ctx := context.Background()
	if err := b.Set(ctx, "k", region.CachedValue{Payload: 1}); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := b.Get(ctx, "k"); !ok {
		t.Fatal("value gone at once")
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, ok, _ := b.Get(ctx, "k"); !ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("value still there 10s after a 0.2s expiration_time")
		}
		time.Sleep(50 * time.Millisecond)
	}
	if _, err := region.NewBackend("oslo_cache.dict", region.Arguments{"expiration_time": "soon"}); !errors.Is(err, region.ErrBadArgument) {
		t.Errorf("bad expiration_time: %v", err)
	}
}
