package region_test

import (
	"context"
	"testing"

	"github.com/dogpile-go/dogpile/backends/memory"
	"github.com/dogpile-go/dogpile/region"
)

// orderedBytes is a byte store that also reads in key order, counting how
// often each read path is taken; short drops the last value, as a broken
// implementation would.
type orderedBytes struct {
	*memory.Bytes
	ordered, mapped int
	short           bool
}

func (o *orderedBytes) GetSerializedOrdered(ctx context.Context, keys []string) ([][]byte, error) {
	o.ordered++
	values := make([][]byte, len(keys))
	for i, k := range keys {
		if v, ok, err := o.GetSerialized(ctx, k); err != nil {
			return nil, err
		} else if ok {
			values[i] = v
		}
	}
	if o.short {
		values = values[:len(values)-1]
	}
	return values, nil
}

func (o *orderedBytes) GetSerializedMulti(ctx context.Context, keys []string) (map[string][]byte, error) {
	o.mapped++
	return o.Bytes.GetSerializedMulti(ctx, keys)
}

// TestOrderedBytesReader: GetMulti on a byte backend that is an
// OrderedBytesReader reads through GetSerializedOrdered (values in key
// order, absent keys as NoValue, a key asked for twice read twice), and so
// do GetOrCreateMulti and a proxied region (SerializedBackend.GetMulti); a
// reader that returns the wrong number of values is an error, not a
// misattributed value.
func TestOrderedBytesReader(t *testing.T) {
	ctx := context.Background()
	store := &orderedBytes{Bytes: memory.NewBytes()}
	region.RegisterBackend("test.ordered", func(region.Arguments) (region.Backend, error) {
		return region.NewSerializedBackend(store, region.JSONSerializer{}), nil
	})
	r := region.New("ordered")
	if err := r.Configure("test.ordered"); err != nil {
		t.Fatal(err)
	}
	if err := r.SetMulti(ctx, map[string]any{"a": "A", "c": "C", "e": ""}); err != nil {
		t.Fatal(err)
	}
	keys := []string{"a", "b", "c", "a", "e"}
	want := []any{"A", region.NoValue, "C", "A", ""}
	got, err := r.GetMulti(ctx, keys)
	if err != nil {
		t.Fatal(err)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("GetMulti[%d] (%s) = %#v, want %#v", i, keys[i], got[i], want[i])
		}
	}
	if store.ordered != 1 || store.mapped != 0 {
		t.Errorf("read in order %d times, into a map %d times; want 1, 0", store.ordered, store.mapped)
	}

	proxied := region.New("ordered-proxied")
	if err := proxied.Configure("test.ordered", region.WithWrap(&region.ProxyBackend{})); err != nil {
		t.Fatal(err)
	}
	if got, err := proxied.GetMulti(ctx, keys); err != nil || got[2] != "C" || got[1] != region.NoValue {
		t.Errorf("proxied GetMulti = %#v, %v", got, err)
	}
	if store.ordered != 2 || store.mapped != 0 {
		t.Errorf("the proxied region read in order %d times, into a map %d times; want 2, 0", store.ordered, store.mapped)
	}
	vals, err := r.GetOrCreateMulti(ctx, []string{"a", "c", "e"}, func(context.Context, []string) ([]any, error) {
		t.Error("GetOrCreateMulti created values that are cached")
		return []any{1, 2, 3}, nil
	})
	if err != nil || vals[0] != "A" || vals[1] != "C" || vals[2] != "" {
		t.Errorf("GetOrCreateMulti = %#v, %v", vals, err)
	}
	if store.ordered != 3 || store.mapped != 0 {
		t.Errorf("GetOrCreateMulti: read in order %d times in all, into a map %d times; want 3, 0", store.ordered, store.mapped)
	}

	store.short = true
	if got, err := r.GetMulti(ctx, keys); err == nil {
		t.Errorf("GetMulti with a reader returning too few values = %#v, no error", got)
	}
	if got, err := proxied.GetMulti(ctx, keys); err == nil {
		t.Errorf("proxied GetMulti with a reader returning too few values = %#v, no error", got)
	}
}
