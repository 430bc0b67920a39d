package memcache_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"sync"
	"testing"
	"time"

	gomemcache "github.com/bradfitz/gomemcache/memcache"

	"github.com/dogpile-go/dogpile/backends/memcache"
	"github.com/dogpile-go/dogpile/internal/pyrun"
	"github.com/dogpile-go/dogpile/internal/testservers"
	"github.com/dogpile-go/dogpile/lockmutex"
	"github.com/dogpile-go/dogpile/region"
)

// TestStampedeAcrossGoAndPython: 3 Python processes and 3 Go callers ask
// for one key at once; exactly one creator runs (each creator counts
// itself with memcached incr on a counter key, sent to the server each
// client picks for it) and every caller gets a value: the new one where
// the key was absent, the new or the old one where it had expired.
func TestStampedeAcrossGoAndPython(t *testing.T) {
	py := pyrun.Require(t, pyModules...)
	servers := testservers.MemcachedN(t, 3)
	for _, name := range fleetNames {
		for _, expired := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/expired=%v", name, expired), func(t *testing.T) {
				ctx := ctxT(t)
				// Fresh long enough for Python's waiters, which poll the
				// lock with a backoff growing past a second, to find the
				// created value still fresh.
				const expiration = 30 // seconds
				args := region.Arguments{"url": servers, "distributed_lock": true, "lock_timeout": 30}
				r := fleetRegion(t, name, args, false, region.WithExpirationTime(expiration*time.Second))
				b := r.ActualBackend().(*memcache.PythonBackend)
				key, counter := testservers.UniqueKey(t, "key"), testservers.UniqueKey(t, "creators")
				if err := b.Client().Set(&gomemcache.Item{Key: counter, Value: []byte("0")}); err != nil {
					t.Fatal(err)
				}
				if expired { // a value created two expirations ago
					old := region.CachedValue{Payload: "old", Metadata: region.Metadata{
						CreatedAt: time.Now().Add(-2 * expiration * time.Second), Version: region.ValueVersion}}
					if err := b.Set(ctx, key, old); err != nil {
						t.Fatal(err)
					}
				}
				start := time.Now().Add(2500 * time.Millisecond) // Python starts slowly
				var (
					wg     sync.WaitGroup
					mu     sync.Mutex
					values []string
					errs   []error
				)
				add := func(v string, err error) {
					mu.Lock()
					defer mu.Unlock()
					values = append(values, v)
					if err != nil {
						errs = append(errs, err)
					}
				}
				for i := range 3 {
					wg.Go(func() {
						var out struct {
							Value string `json:"value"`
						}
						err := pyOutput(ctx, py, map[string]any{
							"op": "stampede", "backend": name, "args": map[string]any{"url": servers, "distributed_lock": true, "lock_timeout": 30},
							"expiration": expiration, "key": key, "counter": counter, "sleep": 1.0,
							"value": "new-py-" + strconv.Itoa(i), "start": float64(start.UnixNano()) / 1e9,
						}, &out)
						add(out.Value, err)
					})
				}
				for i := range 3 {
					wg.Go(func() {
						time.Sleep(time.Until(start))
						v, err := r.GetOrCreate(ctx, key, func(context.Context) (any, error) {
							if _, err := b.Client().Increment(counter, 1); err != nil {
								return nil, err
							}
							time.Sleep(time.Second)
							return "new-go-" + strconv.Itoa(i), nil
						})
						s, _ := v.(string)
						add(s, err)
					})
				}
				wg.Wait()
				if len(errs) > 0 {
					t.Fatalf("callers failed: %v", errs)
				}
				it, err := b.Client().Get(counter)
				if err != nil {
					t.Fatal(err)
				}
				if string(it.Value) != "1" {
					t.Fatalf("%s creators ran, want exactly 1 (values %q)", it.Value, values)
				}
				created := ""
				for _, v := range values {
					if v != "old" && v != "" {
						if created != "" && v != created {
							t.Fatalf("callers got different new values %q", values)
						}
						created = v
					}
				}
				for _, v := range values {
					if v == "" || (v == "old" && !expired) {
						t.Fatalf("values %q: every caller must get a value (the created one, or the old one when it had expired)", values)
					}
				}
				t.Logf("one creator; values %q", values)
			})
		}
	}
}

// funcArgs is several positional arguments of a cached function.
type funcArgs struct {
	ID    int
	Name  string
	Admin bool
}

func TestFunctionKeysMatchDogpile(t *testing.T) {
	py := pyrun.Require(t, "dogpile.cache")
	type keyCase struct {
		goKey  string
		ns     any // nil or the namespace
		pyArgs []string
	}
	noop := func(context.Context, any) (any, error) { return nil, nil }
	r := region.New("keys")
	key := func(arg any, opts ...region.FuncOption) string {
		return region.CacheOnArguments(r, "svc.mod:fn", noop, opts...).Key(arg)
	}
	structKey := region.CacheOnArguments(r, "svc.mod:fn", func(context.Context, funcArgs) (any, error) { return nil, nil }).Key(funcArgs{7, "ada", true})
	cases := []keyCase{
		{key(42), nil, []string{"42"}},
		{key(-3), nil, []string{"-3"}},
		{key("ada"), nil, []string{`"ada"`}},
		{key("héllo wörld"), nil, []string{`"héllo wörld"`}},
		{key(true), nil, []string{"True"}},
		{key(false), nil, []string{"False"}},
		{key(nil), nil, []string{"None"}},
		{key(1.0), nil, []string{"1.0"}},
		{key(1.5), nil, []string{"1.5"}},
		{key(1e22), nil, []string{"1e22"}},
		{key(0.1), nil, []string{"0.1"}},
		{key([]any{1, "a", nil}), nil, []string{"1", `"a"`, "None"}},
		{structKey, nil, []string{"7", `"ada"`, "True"}},
		{key([]int{1, 2}), nil, []string{"1", "2"}},
		{key([]any{[]any{1, "a"}}), nil, []string{`[1, "a"]`}},
		{key(42, region.WithFuncNamespace("users")), "users", []string{"42"}},
		{key("x", region.WithFuncNamespace("ns")), "ns", []string{`"x"`}},
	}
	pyCases := make([][]any, len(cases))
	for i, c := range cases {
		pyCases[i] = []any{c.ns, c.pyArgs}
	}
	var got []string
	pyCall(t, py, map[string]any{"op": "funckeys", "cases": pyCases}, &got)
	for i, c := range cases {
		if c.goKey != got[i] {
			t.Errorf("args %v (namespace %v): Go key %q, dogpile %q", c.pyArgs, c.ns, c.goKey, got[i])
		}
	}
}

func TestPythonCachedFunctionServesGo(t *testing.T) {
	py := pyrun.Require(t, pyModules...)
	servers := testservers.MemcachedN(t, 3)
	ctx := ctxT(t)
	for _, name := range fleetNames {
		t.Run(name, func(t *testing.T) {
			arg := int(time.Now().UnixNano() % 1e9)
			var out struct {
				Calls int    `json:"calls"`
				Key   string `json:"key"`
			}
			pyCall(t, py, map[string]any{"op": "cached_call", "backend": name, "args": map[string]any{"url": servers}, "arg": arg}, &out)
			if out.Calls != 1 {
				t.Fatalf("the Python function ran %d times, want 1", out.Calls)
			}
			r := fleetRegion(t, name, region.Arguments{"url": servers}, false)
			type user struct {
				ID    int
				Name  string
				Roles []string
				From  string
			}
			f := region.CacheOnArguments(r, "svc.mod:fn", func(context.Context, int) (user, error) {
				t.Error("the Go function ran: the value Python cached was not served")
				return user{}, errors.New("not cached")
			})
			if k := f.Key(arg); k != out.Key {
				t.Fatalf("Go key %q, Python key %q", k, out.Key)
			}
			u, err := f.Call(ctx, arg)
			if err != nil {
				t.Fatal(err)
			}
			want := user{ID: arg, Name: "ada", Roles: []string{"admin", "reader"}, From: "python"}
			if !reflect.DeepEqual(u, want) {
				t.Fatalf("Call = %+v, want %+v", u, want)
			}
		})
	}
}

// TestLockInteropWithPython: dogpile's MemcachedLock in Python and the Go
// lock exclude each other both ways, on the same server, and a Go release
// never deletes a lock Python holds.
func TestLockInteropWithPython(t *testing.T) {
	py := pyrun.Require(t, pyModules...)
	servers := testservers.MemcachedN(t, 3)
	ctx := ctxT(t)
	for _, name := range fleetNames {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			sig := func(s string) string { return filepath.Join(dir, s) }
			args := region.Arguments{"url": servers, "distributed_lock": true}
			r := fleetRegion(t, name, args, false)
			b := r.ActualBackend().(*memcache.PythonBackend)
			key := testservers.UniqueKey(t, "k")
			pyReq := map[string]any{"op": "lock", "backend": name, "key": key,
				"args": map[string]any{"url": servers, "distributed_lock": true}}

			// Python holds the lock: Go cannot take it, sees it locked,
			// and the item is where Go's selector says.
			pyReq["steps"] = []string{"acquire", "signal:" + sig("py-holds"), "wait:" + sig("go-checked"), "release", "signal:" + sig("py-released")}
			done := make(chan error, 1)
			var steps []bool
			go func() { done <- pyOutput(ctx, py, pyReq, &steps) }()
			waitFile(t, sig("py-holds"))
			m := b.GetMutex(key)
			if ok, err := m.Acquire(ctx, false); err != nil || ok {
				t.Fatalf("Go Acquire while Python holds the lock = %v, %v; want false", ok, err)
			}
			if locked, err := m.Locked(ctx); err != nil || !locked {
				t.Fatalf("Go Locked while Python holds the lock = %v, %v", locked, err)
			}
			srv, _ := b.ServerFor(lockmutex.LockKeyPrefix + key)
			c := gomemcache.New(srv)
			if it, err := c.Get(lockmutex.LockKeyPrefix + key); err != nil || string(it.Value) != "1" || it.Flags != memcache.FlagInteger {
				t.Fatalf("Python's lock item on %s: %v %v; want 1 with the int flag", srv, it, err)
			}
			_ = c.Close()
			touch(t, sig("go-checked"))
			if err := <-done; err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(steps, []bool{true, true, true, true, true}) {
				t.Fatalf("python steps %v", steps)
			}
			if ok, err := m.Acquire(ctx, false); err != nil || !ok {
				t.Fatalf("Go Acquire after Python released = %v, %v; want true", ok, err)
			}

			// Go holds it: Python cannot take it and sees it locked.
			pyReq["steps"] = []string{"acquire", "locked"}
			pyCall(t, py, pyReq, &steps)
			if !reflect.DeepEqual(steps, []bool{false, true}) {
				t.Fatalf("Python acquire/locked while Go holds the lock = %v, want [false true]", steps)
			}
			if err := m.Release(ctx); err != nil {
				t.Fatal(err)
			}
			pyReq["steps"] = []string{"locked", "acquire"}
			pyCall(t, py, pyReq, &steps)
			if !reflect.DeepEqual(steps, []bool{false, true}) {
				t.Fatalf("Python locked/acquire after Go released = %v, want [false true]", steps)
			}

			// A Go holder whose lock was deleted (as Python's release of a
			// lock it thinks it holds would) while Python took it: Go's
			// release must leave Python's lock in place.
			pyReq["steps"] = []string{"release"}
			pyCall(t, py, pyReq, &steps)
			m2 := b.GetMutex(key)
			if ok, err := m2.Acquire(ctx, false); err != nil || !ok {
				t.Fatalf("Go Acquire = %v, %v", ok, err)
			}
			pyReq["steps"] = []string{"release", "acquire"} // Python deletes it, then takes it
			pyCall(t, py, pyReq, &steps)
			if err := m2.Release(ctx); !errors.Is(err, lockmutex.ErrLockLost) {
				t.Fatalf("Go Release of a lock Python took over = %v, want ErrLockLost", err)
			}
			pyReq["steps"] = []string{"locked", "release"}
			pyCall(t, py, pyReq, &steps)
			if !reflect.DeepEqual(steps, []bool{true, true}) {
				t.Fatalf("Python's lock after Go's release: locked = %v, want still locked", steps)
			}
		})
	}
}

func waitFile(t *testing.T, path string) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		if _, err := os.Stat(path); err == nil {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("%s did not appear", path)
}

func touch(t *testing.T, path string) {
	t.Helper()
	if err := os.WriteFile(path, nil, 0o600); err != nil {
		t.Fatal(err)
	}
}
