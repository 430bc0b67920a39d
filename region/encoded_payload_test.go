package region_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/dogpile-go/dogpile/backends/memory"
	"github.com/dogpile-go/dogpile/pickle"
	"github.com/dogpile-go/dogpile/region"
)

// pickledStore is an object backend whose payloads stay pickled until read,
// as dogpile.cache's memcached backends' values do. (It wraps the memory
// backend in a proxy, so the region does not read around its Get.)
type pickledStore struct{ *region.ProxyBackend }

func (p pickledStore) Get(ctx context.Context, key string) (region.CachedValue, bool, error) {
	cv, ok, err := p.Proxied.Get(ctx, key)
	if !ok || err != nil {
		return cv, ok, err
	}
	data, err := pickle.EncodeCachedValue(cv.Payload, cv.Metadata.CreatedAt, region.DogpileValueVersion, 2)
	if err != nil {
		return region.CachedValue{}, false, err
	}
	v, created, _, err := pickle.DecodeCachedValue(data)
	if err != nil {
		return region.CachedValue{}, false, err
	}
	return region.CachedValue{Payload: v, Metadata: region.Metadata{CreatedAt: created, Version: region.ValueVersion}}, true, nil
}

func (p pickledStore) GetMulti(ctx context.Context, keys []string) (map[string]region.CachedValue, error) {
	out := map[string]region.CachedValue{}
	for _, k := range keys {
		cv, ok, err := p.Get(ctx, k)
		if err != nil {
			return nil, err
		}
		if ok {
			out[k] = cv
		}
	}
	return out, nil
}

// TestEncodedPayloadsDecodeForEveryCaller: a payload that implements
// region.EncodedPayload is decoded into the caller's type by GetAs (also
// for an interface type such as any), and into a generic value by Get,
// GetMulti and GetOrCreate; it is never handed out undecoded.
func TestEncodedPayloadsDecodeForEveryCaller(t *testing.T) {
	region.RegisterBackend("test.pickled", func(region.Arguments) (region.Backend, error) {
		return pickledStore{&region.ProxyBackend{Proxied: memory.New(memory.Options{})}}, nil
	})
	r := region.New("encoded")
	if err := r.Configure("test.pickled", region.WithExpirationTime(time.Hour)); err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	ctx := context.Background()
	if err := r.Set(ctx, "u", map[string]any{"name": "ada", "id": 42}); err != nil {
		t.Fatal(err)
	}
	check := func(what string, v any) {
		t.Helper()
		m, ok := v.(map[string]any)
		if !ok || m["name"] != "ada" || m["id"] != int64(42) {
			t.Errorf("%s = %#v, want the decoded map", what, v)
		}
	}
	v, ok, err := r.Get(ctx, "u")
	if !ok || err != nil {
		t.Fatal(ok, err)
	}
	check("Get", v)
	a, ok, err := region.GetAs[any](ctx, r, "u")
	if !ok || err != nil {
		t.Fatal(ok, err)
	}
	check("GetAs[any]", a)
	type user struct {
		Name string `pickle:"name"`
		ID   int    `pickle:"id"`
	}
	u, ok, err := region.GetAs[user](ctx, r, "u")
	if !ok || err != nil || u != (user{"ada", 42}) {
		t.Fatalf("GetAs[user] = %+v, %v, %v", u, ok, err)
	}
	vals, err := r.GetMulti(ctx, []string{"u"})
	if err != nil || len(vals) != 1 {
		t.Fatal(vals, err)
	}
	check("GetMulti", vals[0])
	got, err := r.GetOrCreate(ctx, "u", func(context.Context) (any, error) { return nil, errors.New("creator called on a hit") })
	if err != nil {
		t.Fatal(err)
	}
	check("GetOrCreate", got)
	anyV, err := region.GetOrCreateAs(ctx, r, "u", func(context.Context) (any, error) { return nil, errors.New("creator called on a hit") })
	if err != nil {
		t.Fatal(err)
	}
	check("GetOrCreateAs[any]", anyV)
	if _, _, err := region.GetAs[[]string](ctx, r, "u"); !errors.Is(err, region.ErrTypeMismatch) {
		t.Errorf("GetAs of the wrong type: %v, want ErrTypeMismatch", err)
	}
}

// document is an application type that happens to have Decode and Value
// methods, as a document model might.
type document struct{ body string }

func (d *document) Decode(into any) error { return errors.New("not a payload") }
func (d *document) Value() (any, error)   { return "not the document", nil }

// TestApplicationValueWithDecodeIsNotAPayload: a value of the
// application's own with Decode and Value methods is no EncodedPayload (it
// has no PayloadEncoding): an in-process backend returns it as stored.
func TestApplicationValueWithDecodeIsNotAPayload(t *testing.T) {
	r := configured(t, "document", nil)
	ctx := context.Background()
	doc := &document{body: "hello"}
	if err := r.Set(ctx, "d", doc); err != nil {
		t.Fatal(err)
	}
	if v, ok, err := r.Get(ctx, "d"); err != nil || !ok || v != doc {
		t.Fatalf("Get = %#v, %v, %v; want the stored *document", v, ok, err)
	}
	if v, ok, err := region.GetAs[*document](ctx, r, "d"); err != nil || !ok || v != doc {
		t.Fatalf("GetAs[*document] = %#v, %v; want the stored *document", v, err)
	}
	if v, ok, err := region.GetAs[any](ctx, r, "d"); err != nil || !ok || v != doc {
		t.Fatalf("GetAs[any] = %#v, %v; want the stored *document", v, err)
	}
	v, err := r.GetOrCreate(ctx, "d", func(context.Context) (any, error) { return nil, errors.New("not called") })
	if err != nil || v != doc {
		t.Fatalf("GetOrCreate = %#v, %v; want the stored *document", v, err)
	}
}
