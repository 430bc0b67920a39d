package region_test

import (
	"context"
	"crypto/sha1"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	_ "github.com/dogpile-go/dogpile/backends/memory"
	"github.com/dogpile-go/dogpile/region"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// keyRecorder is a proxy that records every key that reaches it.
type keyRecorder struct {
	region.ProxyBackend
	mu   sync.Mutex
	keys []string
}

func (p *keyRecorder) record(keys ...string) {
	p.mu.Lock()
	p.keys = append(p.keys, keys...)
	p.mu.Unlock()
}

func (p *keyRecorder) seen() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.keys)
}

func (p *keyRecorder) Get(ctx context.Context, key string) (region.CachedValue, bool, error) {
	p.record(key)
	return p.Proxied.Get(ctx, key)
}

func (p *keyRecorder) GetMulti(ctx context.Context, keys []string) (map[string]region.CachedValue, error) {
	p.record(keys...)
	return p.Proxied.GetMulti(ctx, keys)
}

func (p *keyRecorder) Set(ctx context.Context, key string, v region.CachedValue) error {
	p.record(key)
	return p.Proxied.Set(ctx, key, v)
}

func (p *keyRecorder) SetMulti(ctx context.Context, m map[string]region.CachedValue) error {
	p.record(slices.Sorted(maps.Keys(m))...)
	return p.Proxied.SetMulti(ctx, m)
}

func (p *keyRecorder) Delete(ctx context.Context, key string) error {
	p.record(key)
	return p.Proxied.Delete(ctx, key)
}

func (p *keyRecorder) DeleteMulti(ctx context.Context, keys []string) error {
	p.record(keys...)
	return p.Proxied.DeleteMulti(ctx, keys)
}

func (p *keyRecorder) GetMutex(key string) region.Mutex {
	p.record(key)
	return p.Proxied.GetMutex(key)
}

func configured(t *testing.T, name string, opts []region.Option, copts ...region.ConfigOption) *region.Region {
	t.Helper()
	r := region.New(name, opts...)
	if err := r.Configure("memory", copts...); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = r.Close() })
	return r
}

func TestKeyManglerOnEveryPath(t *testing.T) {
	rec := &keyRecorder{}
	r := configured(t, "mangled", []region.Option{region.WithKeyMangler(func(k string) string { return "HI!" + k })}, region.WithWrap(rec))
	ctx := context.Background()
	create := func(context.Context) (any, error) { return "v", nil }
	createMulti := func(_ context.Context, ks []string) ([]any, error) { return make([]any, len(ks)), nil }
	steps := []func() error{
		func() error { return r.Set(ctx, "a", "v") },
		func() error { _, _, err := r.Get(ctx, "a"); return err },
		func() error { _, err := r.GetMulti(ctx, []string{"a", "b"}); return err },
		func() error { _, err := r.GetValueMetadata(ctx, "a"); return err },
		func() error { return r.SetMulti(ctx, map[string]any{"c": 1}) },
		func() error { _, err := r.GetOrCreate(ctx, "d", create); return err },
		func() error { _, err := r.GetOrCreateMulti(ctx, []string{"e"}, createMulti); return err },
		func() error { _, err := r.KeyIsLocked(ctx, "f"); return err },
		func() error { return r.Delete(ctx, "a") },
		func() error { return r.DeleteMulti(ctx, []string{"b", "c"}) },
	}
	for i, step := range steps {
		if err := step(); err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
	}
	keys := rec.seen()
	if len(keys) < len(steps) {
		t.Fatalf("backend saw %d keys: %v", len(keys), keys)
	}
	for _, k := range keys {
		if !strings.HasPrefix(k, "HI!") {
			t.Errorf("key %q reached the backend unmangled", k)
		}
	}
	if v, ok, _ := r.Get(ctx, "d"); !ok || v != "v" {
		t.Fatalf("Get through the mangler = %v, %v", v, ok)
	}
}

// The hit paths that read through the backend's pointer (memory without
// proxies) mangle keys too, typed calls and cached functions included.
func TestKeyManglerOnFastPaths(t *testing.T) {
	r := configured(t, "mangled-fast", []region.Option{region.WithKeyMangler(func(k string) string { return "HI!" + k })})
	ctx := context.Background()
	if err := r.Set(ctx, "a", "A"); err != nil {
		t.Fatal(err)
	}
	stored := func(key string) any {
		t.Helper()
		cv, ok, err := r.ActualBackend().Get(ctx, key)
		if err != nil || !ok {
			return nil
		}
		return cv.Payload
	}
	if stored("HI!a") != "A" || stored("a") != nil {
		t.Fatal("Set did not store under the mangled key")
	}
	if v, ok, err := r.Get(ctx, "a"); !ok || err != nil || v != "A" {
		t.Errorf("Get = %v, %v, %v", v, ok, err)
	}
	if v, ok, err := region.GetAs[string](ctx, r, "a"); !ok || err != nil || v != "A" {
		t.Errorf("GetAs = %v, %v, %v", v, ok, err)
	}
	if v, err := region.GetOrCreateAs(ctx, r, "a", func(context.Context) (string, error) { return "created", nil }); err != nil || v != "A" {
		t.Errorf("GetOrCreateAs hit = %v, %v", v, err)
	}
	if v, err := region.GetOrCreateAs(ctx, r, "b", func(context.Context) (string, error) { return "B", nil }); err != nil || v != "B" || stored("HI!b") != "B" {
		t.Errorf("GetOrCreateAs miss = %v, %v; stored under the mangled key: %v", v, err, stored("HI!b"))
	}
	if vals, found, err := region.GetMultiAs[string](ctx, r, []string{"a", "b", "c"}); err != nil || !found[0] || !found[1] || found[2] || vals[0] != "A" || vals[1] != "B" {
		t.Errorf("GetMultiAs = %v, %v, %v", vals, found, err)
	}
	double := region.CacheOnArguments(r, "double", func(_ context.Context, n int) (int, error) { return 2 * n, nil })
	if v, err := double.Call(ctx, 21); err != nil || v != 42 {
		t.Fatalf("cached function = %v, %v", v, err)
	}
	if stored("HI!"+double.Key(21)) != 42 {
		t.Errorf("the cached function's value is not under the mangled key %q", "HI!"+double.Key(21))
	}
}

func TestSHA1MangleKey(t *testing.T) {
	// The same digest dogpile's sha1_mangle_key gives.
	if got := region.SHA1MangleKey("tests.cache.test_decorator:one|1 2"); got != "aead490a8ace2d69a00160f1fd8fd8a16552c24f" {
		t.Fatalf("SHA1MangleKey = %s", got)
	}
	// Short keys are hashed from a stack buffer, long ones are not: both
	// give the plain digest.
	for _, n := range []int{0, 255, 256, 257, 4096} {
		key := strings.Repeat("k", n)
		sum := sha1.Sum([]byte(key))
		if got := region.SHA1MangleKey(key); got != hex.EncodeToString(sum[:]) {
			t.Errorf("SHA1MangleKey(%d-byte key) = %s", n, got)
		}
	}
}

// counterProxy counts calls and can drop sets of one key.
type counterProxy struct {
	region.ProxyBackend
	name       string
	order      *[]string
	gets, sets atomic.Int32
	neverSet   string
}

func (p *counterProxy) Get(ctx context.Context, key string) (region.CachedValue, bool, error) {
	p.gets.Add(1)
	*p.order = append(*p.order, p.name)
	return p.Proxied.Get(ctx, key)
}

func (p *counterProxy) Set(ctx context.Context, key string, v region.CachedValue) error {
	p.sets.Add(1)
	if key == p.neverSet {
		return nil
	}
	if _, ok := v.Payload.(string); !ok {
		return fmt.Errorf("proxy saw payload %T; want the caller's value", v.Payload)
	}
	return p.Proxied.Set(ctx, key, v)
}

func TestProxiesAppliedInOrder(t *testing.T) {
	var order []string
	a := &counterProxy{name: "a", order: &order}
	b := &counterProxy{name: "b", order: &order, neverSet: "5"}
	r := configured(t, "proxied", nil, region.WithWrap(a, b))
	ctx := context.Background()
	if r.Backend() != a {
		t.Fatalf("Backend() = %T; want the first proxy", r.Backend())
	}
	if _, ok := r.ActualBackend().(*counterProxy); ok {
		t.Fatal("ActualBackend() returned a proxy")
	}
	for i := 0; i < 10; i++ {
		if err := r.Set(ctx, fmt.Sprint(i), fmt.Sprint("v", i)); err != nil {
			t.Fatal(err)
		}
	}
	if a.sets.Load() != 10 || b.sets.Load() != 10 || a.gets.Load() != 0 {
		t.Fatalf("sets a=%d b=%d gets a=%d", a.sets.Load(), b.sets.Load(), a.gets.Load())
	}
	order = nil
	if _, ok, _ := r.Get(ctx, "5"); ok {
		t.Fatal("a set the inner proxy dropped is readable")
	}
	if v, ok, _ := r.Get(ctx, "1"); !ok || v != "v1" {
		t.Fatalf("Get(1) = %v, %v", v, ok)
	}
	if !slices.Equal(order, []string{"a", "b", "a", "b"}) {
		t.Fatalf("call order %v; want the first proxy outermost", order)
	}
	// Wrap adds a new outermost proxy.
	c := &counterProxy{name: "c", order: &order}
	if err := r.Wrap(c); err != nil {
		t.Fatal(err)
	}
	order = nil
	_, _, _ = r.Get(ctx, "1")
	if !slices.Equal(order, []string{"c", "a", "b"}) {
		t.Fatalf("after Wrap, order %v", order)
	}
}

func TestConfigureErrors(t *testing.T) {
	ctx := context.Background()
	r := region.New("errors")
	create := func(context.Context) (any, error) { return 1, nil }
	calls := map[string]func() error{
		"Get":              func() error { _, _, err := r.Get(ctx, "k"); return err },
		"GetMulti":         func() error { _, err := r.GetMulti(ctx, []string{"k"}); return err },
		"GetValueMetadata": func() error { _, err := r.GetValueMetadata(ctx, "k"); return err },
		"GetOrCreate":      func() error { _, err := r.GetOrCreate(ctx, "k", create); return err },
		"GetOrCreateMulti": func() error {
			_, err := r.GetOrCreateMulti(ctx, []string{"k"}, func(context.Context, []string) ([]any, error) { return nil, nil })
			return err
		},
		"Set":         func() error { return r.Set(ctx, "k", 1) },
		"SetMulti":    func() error { return r.SetMulti(ctx, map[string]any{"k": 1}) },
		"Delete":      func() error { return r.Delete(ctx, "k") },
		"DeleteMulti": func() error { return r.DeleteMulti(ctx, []string{"k"}) },
		"KeyIsLocked": func() error { _, err := r.KeyIsLocked(ctx, "k"); return err },
		"Wrap":        func() error { return r.Wrap(&region.ProxyBackend{}) },
		"GetAs":       func() error { _, _, err := region.GetAs[int](ctx, r, "k"); return err },
	}
	for name, call := range calls {
		if err := call(); !errors.Is(err, region.ErrNotConfigured) {
			t.Errorf("%s before Configure: err = %v; want ErrNotConfigured", name, err)
		}
	}
	if r.IsConfigured() {
		t.Fatal("IsConfigured before Configure")
	}

	err := r.Configure("no-such-backend")
	if !errors.Is(err, region.ErrPluginNotFound) || !strings.Contains(err.Error(), "memory_serialized") || !strings.Contains(err.Error(), "no-such-backend") {
		t.Fatalf("unknown backend: err = %v; want ErrPluginNotFound naming it and listing the registered ones", err)
	}
	// A backend of this module whose package the program does not import:
	// the error names the import that registers it.
	err = r.Configure("dogpile.cache.redis")
	if !errors.Is(err, region.ErrPluginNotFound) || !strings.Contains(err.Error(), `import _ "github.com/dogpile-go/dogpile/backends/redis"`) {
		t.Fatalf("backend whose package is not imported: err = %v; want ErrPluginNotFound naming the import", err)
	}
	if err := r.Configure("memory"); err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if !r.IsConfigured() || r.Name() != "errors" || r.BackendName() != "memory" {
		t.Fatalf("IsConfigured %v Name %q BackendName %q", r.IsConfigured(), r.Name(), r.BackendName())
	}
	if err := r.Configure("memory"); !errors.Is(err, region.ErrAlreadyConfigured) {
		t.Fatalf("second Configure: err = %v; want ErrAlreadyConfigured", err)
	}
	if err := r.Set(ctx, "k", "v"); err != nil {
		t.Fatal(err)
	}
	if err := r.Configure("memory_serialized", region.WithReplaceExistingBackend()); err != nil {
		t.Fatalf("replace: %v", err)
	}
	if r.BackendName() != "memory_serialized" {
		t.Fatalf("after replace: backend %q", r.BackendName())
	}
	if _, ok, _ := r.Get(ctx, "k"); ok {
		t.Fatal("the replaced backend's value is still visible")
	}
}

func TestBadArgumentNamed(t *testing.T) {
	r := region.New("bad")
	err := r.Configure("memory", region.WithArguments(region.Arguments{"expiration_time": "soon"}))
	var ae *region.ArgumentError
	if !errors.As(err, &ae) || ae.Name != "expiration_time" || !errors.Is(err, region.ErrBadArgument) || !strings.Contains(err.Error(), `"soon"`) {
		t.Fatalf("err = %v; want an ArgumentError naming expiration_time and its value", err)
	}
	err = r.ConfigureFromConfig(map[string]any{"cache.backend": "memory", "cache.expiration_time": "one hour"}, "cache.")
	if !errors.As(err, &ae) || ae.Name != "cache.expiration_time" {
		t.Fatalf("ConfigureFromConfig err = %v; want an ArgumentError naming cache.expiration_time", err)
	}
	if err := r.ConfigureFromConfig(map[string]any{"cache.expiration_time": "1"}, "cache."); !errors.As(err, &ae) || ae.Name != "cache.backend" {
		t.Fatalf("missing backend: err = %v", err)
	}
	if r.IsConfigured() {
		t.Fatal("a failed Configure left the region configured")
	}
}

// argsRecorder is a backend that keeps the arguments it was built with.
type argsRecorder struct {
	region.Backend
	args region.Arguments
}

var lastArgs atomic.Pointer[region.Arguments]

func init() {
	region.RegisterBackend("test.args_recorder", func(args region.Arguments) (region.Backend, error) {
		lastArgs.Store(&args)
		return &argsRecorder{Backend: nil, args: args}, nil
	})
	region.RegisterProxy("test.pass_through", func() (region.Proxy, error) { return &region.ProxyBackend{}, nil })
}

func TestConfigureFromConfigCoercion(t *testing.T) {
	conf := map[string]any{
		"cache.example.backend":                    "test.args_recorder",
		"cache.example.expiration_time":            "600",
		"cache.example.arguments.url":              "127.0.0.1:11211,127.0.0.2:11211",
		"cache.example.arguments.dogpile_lockfile": "false",
		"cache.example.arguments.xyz":              "None",
		"cache.example.arguments.ratio":            "1.5",
		"cache.example.arguments.count":            "7",
		"cache.example.wrap":                       "test.pass_through",
		"cache.other.backend":                      "memory",
	}
	before := maps.Clone(conf)
	r := region.New("from-config")
	if err := r.ConfigureFromConfig(conf, "cache.example."); err != nil {
		t.Fatal(err)
	}
	if !maps.Equal(conf, before) {
		t.Fatal("ConfigureFromConfig modified the config map")
	}
	if r.ExpirationTime() != 600*time.Second {
		t.Fatalf("expiration = %v; want 600s", r.ExpirationTime())
	}
	args := *lastArgs.Load()
	want := region.Arguments{"url": "127.0.0.1:11211,127.0.0.2:11211", "dogpile_lockfile": false, "xyz": nil, "ratio": 1.5, "count": 7}
	if !maps.Equal(args, want) {
		t.Fatalf("backend arguments = %#v; want %#v", args, want)
	}
	urls, _ := args.Strings("url", nil)
	if !slices.Equal(urls, []string{"127.0.0.1:11211", "127.0.0.2:11211"}) {
		t.Fatalf("url list = %v", urls)
	}
	if _, ok := r.Backend().(*region.ProxyBackend); !ok {
		t.Fatalf("wrap from config: Backend() = %T", r.Backend())
	}
	if _, ok := r.ActualBackend().(*argsRecorder); !ok {
		t.Fatalf("ActualBackend() = %T", r.ActualBackend())
	}
	r2 := region.New("bad-wrap")
	err := r2.ConfigureFromConfig(map[string]any{"c.backend": "memory", "c.wrap": "nope"}, "c.")
	if !errors.Is(err, region.ErrPluginNotFound) || !strings.Contains(err.Error(), "test.pass_through") {
		t.Fatalf("unknown proxy: %v", err)
	}
}

func TestArgumentsNotModified(t *testing.T) {
	args := region.Arguments{"expiration_time": "1h", "cleanup_interval": "2h"}
	before := maps.Clone(args)
	r := region.New("args")
	if err := r.Configure("memory", region.WithArguments(args)); err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if !maps.Equal(args, before) {
		t.Fatalf("arguments changed: %v", args)
	}
	if err := r.Configure("test.args_recorder", region.WithReplaceExistingBackend(), region.WithArguments(args)); err != nil {
		t.Fatal(err)
	}
	got := *lastArgs.Load()
	got["mutated"] = true
	if _, ok := args["mutated"]; ok {
		t.Fatal("a factory modifying its arguments reached the caller's map")
	}
}

func TestVersionMismatchReadsAbsent(t *testing.T) {
	r := configured(t, "versions", nil)
	ctx := context.Background()
	old := region.CachedValue{Payload: "old format", Metadata: region.Metadata{CreatedAt: time.Now(), Version: region.ValueVersion + 1}}
	if err := r.Backend().Set(ctx, "k", old); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := r.Get(ctx, "k"); ok {
		t.Fatal("a value of another format version was returned")
	}
	v, err := r.GetOrCreate(ctx, "k", func(context.Context) (any, error) { return "new", nil })
	if err != nil || v != "new" {
		t.Fatalf("GetOrCreate = %v, %v; want regenerated", v, err)
	}
}

func TestCorruptBytesReadAbsentAndReported(t *testing.T) {
	var reported atomic.Int32
	r2 := region.New("corrupt-bytes", region.WithErrorHandler(func(_ context.Context, key string, err error) {
		if key == "k" && errors.Is(err, region.ErrCorruptValue) {
			reported.Add(1)
		}
	}))
	if err := r2.Configure("memory_serialized"); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	bytes := r2.ActualBackend().(*region.SerializedBackend).Bytes()
	for _, junk := range [][]byte{nil, []byte("garbage"), []byte("1;abc|x"), []byte("|"), []byte("1;5|\xc1")} {
		if err := bytes.SetSerialized(ctx, "k", junk); err != nil {
			t.Fatal(err)
		}
		v, ok, err := r2.Get(ctx, "k")
		if ok || v != nil || err != nil {
			t.Fatalf("corrupt %q read as %v, %v, %v", junk, v, ok, err)
		}
	}
	if reported.Load() != 5 {
		t.Fatalf("corrupt values reported %d times", reported.Load())
	}
	v, err := r2.GetOrCreate(ctx, "k", func(context.Context) (any, error) { return "fresh", nil })
	if err != nil || v != "fresh" {
		t.Fatalf("GetOrCreate over corrupt bytes = %v, %v", v, err)
	}
}

func TestJSONSerializer(t *testing.T) {
	r := region.New("json", region.WithSerializer(region.JSONSerializer{}))
	if err := r.Configure("memory_serialized"); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := r.Set(ctx, "k", map[string]int{"a": 1}); err != nil {
		t.Fatal(err)
	}
	raw, ok, _ := r.ActualBackend().(*region.SerializedBackend).Bytes().GetSerialized(ctx, "k")
	if !ok || !strings.HasSuffix(string(raw), `|{"a":1}`) {
		t.Fatalf("stored bytes %q; want the envelope then JSON", raw)
	}
	m, ok, err := region.GetAs[map[string]int](ctx, r, "k")
	if err != nil || !ok || m["a"] != 1 {
		t.Fatalf("GetAs = %v, %v, %v", m, ok, err)
	}
}

func TestIsolatedCopies(t *testing.T) {
	for _, backend := range []string{"memory_serialized", "openstack.kvs.Memory"} {
		r := region.New(backend)
		if err := r.Configure(backend); err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		orig := map[string][]string{"roles": {"admin"}}
		if err := r.Set(ctx, "k", orig); err != nil {
			t.Fatal(err)
		}
		orig["roles"][0] = "changed by the caller"
		got, _, _ := region.GetAs[map[string][]string](ctx, r, "k")
		got["roles"][0] = "changed by a reader"
		again, _, _ := region.GetAs[map[string][]string](ctx, r, "k")
		if again["roles"][0] != "admin" {
			t.Fatalf("%s: cached value changed to %q by a caller's mutation", backend, again["roles"][0])
		}
	}
}

func TestBackendKeyManglerSuggestion(t *testing.T) {
	r := region.New("suggest")
	if err := r.Configure("test.mangling"); err != nil {
		t.Fatal(err)
	}
	if r.KeyMangler() == nil || r.KeyMangler()("k") != "foo" {
		t.Fatal("the backend's suggested mangler was not used")
	}
	r2 := region.New("explicit", region.WithKeyMangler(strings.ToUpper))
	if err := r2.Configure("test.mangling"); err != nil {
		t.Fatal(err)
	}
	if r2.KeyMangler()("k") != "K" {
		t.Fatal("an explicit mangler must win over the backend's")
	}
	b := r2.ActualBackend().(*manglingBackend)
	if b.told == nil || b.told("k") != "K" {
		t.Fatal("the backend was not told the region's mangler")
	}
	r2.SetKeyMangler(nil)
	if b.told != nil || r2.KeyMangler() != nil {
		t.Fatal("SetKeyMangler(nil) did not reach the backend")
	}
}

type manglingBackend struct {
	region.Backend
	told func(string) string
}

func (*manglingBackend) KeyMangler() func(string) string       { return func(string) string { return "foo" } }
func (b *manglingBackend) SetKeyMangler(f func(string) string) { b.told = f }

func init() {
	region.RegisterBackend("test.mangling", func(region.Arguments) (region.Backend, error) {
		return &manglingBackend{}, nil
	})
}

func TestRegisterPanics(t *testing.T) {
	for name, f := range map[string]func(){
		"duplicate": func() {
			region.RegisterBackend("memory", func(region.Arguments) (region.Backend, error) { return nil, nil })
		},
		"nil":   func() { region.RegisterBackend("x", nil) },
		"empty": func() { region.RegisterProxy("", func() (region.Proxy, error) { return nil, nil }) },
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s registration did not panic", name)
				}
			}()
			f()
		}()
	}
	if !slices.Contains(region.RegisteredBackends(), "null") || !slices.IsSorted(region.RegisteredBackends()) {
		t.Fatalf("RegisteredBackends = %v", region.RegisteredBackends())
	}
}

func TestAsyncCreationRunner(t *testing.T) {
	var wg sync.WaitGroup
	var runs atomic.Int32
	runner := func(key string, job func()) {
		runs.Add(1)
		wg.Add(1)
		go func() { defer wg.Done(); job() }()
	}
	r := configured(t, "async", []region.Option{region.WithAsyncCreationRunner(runner)}, region.WithExpirationTime(200*time.Millisecond))
	ctx := context.Background()
	n := atomic.Int32{}
	creator := func(context.Context) (any, error) {
		time.Sleep(100 * time.Millisecond)
		return fmt.Sprint("v", n.Add(1)), nil
	}
	if v, _ := r.GetOrCreate(ctx, "k", creator); v != "v1" {
		t.Fatalf("first (no value: synchronous) = %v", v)
	}
	if runs.Load() != 0 {
		t.Fatal("runner used with no value to serve")
	}
	time.Sleep(500 * time.Millisecond)
	for i := 0; i < 5; i++ {
		if v, _ := r.GetOrCreate(ctx, "k", creator); v != "v1" {
			t.Fatalf("while regenerating: %v; want the old value at once", v)
		}
	}
	wg.Wait()
	if runs.Load() != 1 {
		t.Fatalf("runner called %d times; want 1", runs.Load())
	}
	if v, _ := r.GetOrCreate(ctx, "k", creator); v != "v2" {
		t.Fatalf("after the background job: %v; want v2", v)
	}
}

func TestPanickingCreatorReleasesLock(t *testing.T) {
	r := configured(t, "panic", nil)
	ctx := context.Background()
	func() {
		defer func() {
			if p := recover(); p != "kaboom" {
				t.Fatalf("recovered %v; want the creator's panic", p)
			}
		}()
		_, _ = r.GetOrCreate(ctx, "k", func(context.Context) (any, error) { panic("kaboom") })
	}()
	if locked, _ := r.KeyIsLocked(ctx, "k"); locked {
		t.Fatal("lock still held after a panicking creator")
	}
	if v, err := r.GetOrCreate(ctx, "k", func(context.Context) (any, error) { return 1, nil }); err != nil || v != 1 {
		t.Fatalf("after panic: %v, %v", v, err)
	}
}

func TestGetValueMetadataExpiration(t *testing.T) {
	r := configured(t, "metadata", nil, region.WithExpirationTime(time.Hour))
	ctx := context.Background()
	if err := r.Set(ctx, "k", "some value"); err != nil {
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond)
	md, err := r.GetValueMetadata(ctx, "k")
	if err != nil || md == nil || md.Payload != "some value" || time.Since(md.Metadata.CreatedAt) < 50*time.Millisecond {
		t.Fatalf("GetValueMetadata = %+v, %v", md, err)
	}
	if md, _ := r.GetValueMetadata(ctx, "k", region.WithExpiration(10*time.Millisecond)); md != nil {
		t.Fatal("metadata of a value older than the call's expiration")
	}
	if md, _ := r.GetValueMetadata(ctx, "k", region.WithExpiration(10*time.Millisecond), region.IgnoreExpiration()); md == nil {
		t.Fatal("IgnoreExpiration should return the metadata")
	}
}

func TestInProcessLocksFreed(t *testing.T) {
	r := configured(t, "many-keys", nil)
	ctx := context.Background()
	for i := 0; i < 20000; i++ {
		if _, err := r.GetOrCreate(ctx, fmt.Sprint("key-", i), func(context.Context) (any, error) { return i, nil }); err != nil {
			t.Fatal(err)
		}
	}
	for i := 0; i < 100; i++ {
		if locked, _ := r.KeyIsLocked(ctx, fmt.Sprint("key-", i)); locked {
			t.Fatal("a finished key is still locked")
		}
	}
	// Memory stays flat: nothing is kept for the 20,000 keys created.
	if n, f := r.InProcessLocks(), r.Flights(); n != 0 || f != 0 {
		t.Fatalf("%d in-process locks and %d flights remain after every creation ended", n, f)
	}
}

func TestUntypedGetOfSerializedMap(t *testing.T) {
	r := region.New("untyped")
	if err := r.Configure("memory_serialized"); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := r.Set(ctx, "k", struct{ Name string }{"x"}); err != nil {
		t.Fatal(err)
	}
	v, ok, err := r.Get(ctx, "k")
	m, isMap := v.(map[string]any)
	if err != nil || !ok || !isMap || m["Name"] != "x" {
		t.Fatalf("Get = %#v, %v, %v; want map[string]any{\"Name\": \"x\"}", v, ok, err)
	}
	anyV, ok, err := region.GetAs[any](ctx, r, "k")
	if m, isMap := anyV.(map[string]any); err != nil || !ok || !isMap || m["Name"] != "x" {
		t.Fatalf("GetAs[any] = %#v, %v, %v; want the decoded map, not the raw bytes", anyV, ok, err)
	}
	vals, found, err := region.GetMultiAs[struct{ Name string }](ctx, r, []string{"k", "absent"})
	if err != nil || !found[0] || found[1] || vals[0].Name != "x" {
		t.Fatalf("GetMultiAs = %v %v %v", vals, found, err)
	}
}
