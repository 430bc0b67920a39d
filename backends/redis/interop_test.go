package redis_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"os/exec"
	"reflect"
	"strconv"
	"sync"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/dogpile-go/dogpile/internal/pyrun"
	"github.com/dogpile-go/dogpile/internal/testservers"
	"github.com/dogpile-go/dogpile/lockmutex"
	"github.com/dogpile-go/dogpile/lockmutex/redismutex"
	"github.com/dogpile-go/dogpile/region"
)

// The interoperability tests run testdata/interop.py with /usr/bin/python3
// and Debian's python3-dogpile.cache and python3-redis: a Python region
// and a Go region configured with the same backend name and the same
// arguments share values and locks.

// pyArgs returns the arguments of the topology as both sides take them
// (Python's sentinels and startup_nodes as [host, port] pairs).
func pyArgs(t testing.TB, tp topology) region.Arguments {
	t.Helper()
	pairs := func(addrs []string) []any {
		var out []any
		for _, a := range addrs {
			h, p, _ := net.SplitHostPort(a)
			n, _ := strconv.Atoi(p)
			out = append(out, []any{h, n})
		}
		return out
	}
	switch tp.name {
	case "dogpile.cache.redis":
		h, p, _ := net.SplitHostPort(testservers.Redis(t))
		n, _ := strconv.Atoi(p)
		return region.Arguments{"host": h, "port": n, "socket_timeout": 5}
	case "dogpile.cache.redis_sentinel":
		set := testservers.RedisSentinel(t)
		return region.Arguments{"sentinels": pairs(set.Sentinels), "service_name": set.Service, "socket_timeout": 5}
	}
	return region.Arguments{"startup_nodes": pairs(testservers.RedisCluster(t)), "socket_timeout": 5}
}

// pyRequest is a request to testdata/interop.py.
type pyRequest struct {
	Backend        string           `json:"backend"`
	Arguments      region.Arguments `json:"arguments"`
	Serializer     string           `json:"serializer,omitempty"`
	ExpirationTime int              `json:"expiration_time,omitempty"`
	Action         string           `json:"action"`
	Prefix         string           `json:"prefix,omitempty"`
	Key            string           `json:"key,omitempty"`
	Counter        string           `json:"counter,omitempty"`
	Who            string           `json:"who,omitempty"`
	StartAt        float64          `json:"start_at,omitempty"`
	CreateSeconds  float64          `json:"create_seconds,omitempty"`
	Wait           bool             `json:"wait,omitempty"`
}

// runPy runs one request and decodes the answer into out.
func runPy(t testing.TB, ctx context.Context, py *pyrun.Python, req pyRequest, out any) {
	t.Helper()
	in, err := json.Marshal(req)
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := py.Output(ctx, pyrun.Script{File: "testdata/interop.py", Stdin: append(in, '\n'), Timeout: time.Minute})
	if err != nil {
		t.Fatalf("python %s: %v", req.Action, err)
	}
	if err := json.Unmarshal(stdout, out); err != nil {
		t.Fatalf("python %s printed %q: %v", req.Action, stdout, err)
	}
}

func requirePython(t testing.TB) *pyrun.Python {
	t.Helper()
	return pyrun.Require(t, "dogpile.cache", "redis")
}

func bigInt(s string) *big.Int {
	n, _ := new(big.Int).SetString(s, 10)
	return n
}

// goValues are what Go writes: the Go forms of interop.py's values().
func goValues(jsonMode bool) map[string]any {
	v := map[string]any{
		"str":    "h\u00e9llo w\u00f6rld \u2713 \u65e5\u672c\u8a9e",
		"empty":  "",
		"int":    42,
		"neg":    -7,
		"big":    bigInt("1180591620717411303424"), // 2**70
		"negbig": bigInt("-36893488147419103232"),  // -(2**65)
		"float":  1.5,
		"tenth":  0.1,
		"true":   true,
		"false":  false,
		"none":   nil,
		"list":   []any{1, "two", 3.5, nil, true},
		"nested": map[string]any{"a": map[string]any{"b": []any{1, 2, map[string]any{"c": "d"}}}, "e": []any{}, "ключ": "значение"},
	}
	if !jsonMode {
		v["bytes"] = []byte("\x00\xffbin")
	}
	return v
}

// goExpected are the values Go reads back from Python's writes, as
// region.Get gives them: pickle decodes ints as int64 (*big.Int past
// int64), JSON as float64.
func goExpected(jsonMode bool) map[string]any {
	if jsonMode {
		return map[string]any{
			"str": "h\u00e9llo w\u00f6rld \u2713 \u65e5\u672c\u8a9e", "empty": "",
			"int": 42.0, "neg": -7.0, "big": 1180591620717411303424.0, "negbig": -36893488147419103232.0,
			"float": 1.5, "tenth": 0.1, "true": true, "false": false, "none": nil,
			"list":   []any{1.0, "two", 3.5, nil, true},
			"nested": map[string]any{"a": map[string]any{"b": []any{1.0, 2.0, map[string]any{"c": "d"}}}, "e": []any{}, "ключ": "значение"},
		}
	}
	return map[string]any{
		"str": "h\u00e9llo w\u00f6rld \u2713 \u65e5\u672c\u8a9e", "empty": "",
		"int": int64(42), "neg": int64(-7), "big": bigInt("1180591620717411303424"), "negbig": bigInt("-36893488147419103232"),
		"float": 1.5, "tenth": 0.1, "true": true, "false": false, "none": nil,
		"list":   []any{int64(1), "two", 3.5, nil, true},
		"nested": map[string]any{"a": map[string]any{"b": []any{int64(1), int64(2), map[string]any{"c": "d"}}}, "e": []any{}, "ключ": "значение"},
		"bytes":  []byte("\x00\xffbin"),
	}
}

// equalValues compares decoded values, *big.Int by value.
func equalValues(a, b any) bool {
	if x, ok := a.(*big.Int); ok {
		y, ok := b.(*big.Int)
		return ok && x.Cmp(y) == 0
	}
	switch x := a.(type) {
	case []any:
		y, ok := b.([]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if !equalValues(x[i], y[i]) {
				return false
			}
		}
		return true
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for k := range x {
			if !equalValues(x[k], y[k]) {
				return false
			}
		}
		return true
	}
	return reflect.DeepEqual(a, b)
}

// waitReplicated makes sure the Sentinel set's replica has every write so
// far: Python's redis_sentinel backend reads from the replica.
func waitReplicated(t testing.TB, ctx context.Context, tp topology) {
	t.Helper()
	if tp.name != "dogpile.cache.redis_sentinel" {
		return
	}
	set := testservers.RedisSentinel(t)
	master, err := set.CurrentMaster(ctx)
	if err != nil {
		t.Fatal(err)
	}
	c := goredis.NewClient(&goredis.Options{Addr: master})
	defer c.Close()
	if n, err := c.Wait(ctx, 1, 5*time.Second).Result(); err != nil || n < 1 {
		t.Fatalf("WAIT for the replica: %d, %v", n, err)
	}
}

// Values written by either side read equal on the other, with dogpile's
// default serializer (pickle) and with a JSON serializer on both sides,
// on all three topologies.
func TestPythonInteropValues(t *testing.T) {
	py := requirePython(t)
	for _, tp := range topologies {
		for _, ser := range []string{"pickle", "json"} {
			t.Run(tp.name+"/"+ser, func(t *testing.T) {
				ctx := testCtx(t)
				jsonMode := ser == "json"
				args := pyArgs(t, tp)
				var ropts []region.Option
				req := pyRequest{Backend: tp.name, Arguments: args}
				if jsonMode {
					ropts, req.Serializer = jsonRegion, "json"
				}
				r := newRegion(t, ropts, tp.name, args)

				// Python writes, Go reads.
				req.Action, req.Prefix = "write", testservers.UniqueKey(t, "py:")
				var written struct{ Written []string }
				runPy(t, ctx, py, req, &written)
				want := goExpected(jsonMode)
				if len(written.Written) != len(want) {
					t.Fatalf("python wrote %v; the test expects %d values", written.Written, len(want))
				}
				var multiKeys []string
				for _, name := range written.Written {
					got, ok, err := r.Get(ctx, req.Prefix+name)
					if err != nil || !ok || !equalValues(got, want[name]) {
						t.Errorf("Go reads Python's %s as %#v, %v, %v; want %#v", name, got, ok, err, want[name])
					}
					multiKeys = append(multiKeys, req.Prefix+"multi:"+name)
				}
				multi, err := r.GetMulti(ctx, multiKeys)
				if err != nil {
					t.Fatal(err)
				}
				for i, name := range written.Written {
					if !equalValues(multi[i], want[name]) {
						t.Errorf("Go's GetMulti reads Python's set_multi %s as %#v; want %#v", name, multi[i], want[name])
					}
				}

				// Go writes, Python reads.
				prefix := testservers.UniqueKey(t, "go:")
				vals := goValues(jsonMode)
				multiVals := map[string]any{}
				for name, v := range vals {
					if err := r.Set(ctx, prefix+name, v); err != nil {
						t.Fatalf("Set %s: %v", name, err)
					}
					multiVals[prefix+"multi:"+name] = v
				}
				if err := r.SetMulti(ctx, multiVals); err != nil {
					t.Fatal(err)
				}
				waitReplicated(t, ctx, tp)
				req.Action, req.Prefix = "read", prefix
				var read struct{ Mismatches []string }
				runPy(t, ctx, py, req, &read)
				for _, m := range read.Mismatches {
					t.Errorf("Python reads Go's value: %s", m)
				}
			})
		}
	}
}

// Three Python processes and three Go callers (each with a region of its
// own, as separate processes have) hit one key at the same moment, with
// the distributed lock on both sides: exactly one creator runs (counted
// with INCR in Redis), and every caller gets a value. When the key is
// missing everyone gets the creator's value; when it holds an expired
// value, the callers that do not win the lock may get the old one.
func TestPythonInteropStampede(t *testing.T) {
	py := requirePython(t)
	for _, tp := range topologies {
		for _, expired := range []bool{false, true} {
			name := tp.name + "/missing"
			if expired {
				name = tp.name + "/expired"
			}
			t.Run(name, func(t *testing.T) {
				ctx := testCtx(t)
				args := with(pyArgs(t, tp), region.Arguments{"distributed_lock": true, "lock_timeout": 10, "lock_sleep": 0.05, "thread_local_lock": false})
				key, counter := testservers.UniqueKey(t, "key"), testservers.UniqueKey(t, "creators")
				raw := rawClient(t, tp)
				var cfg []region.ConfigOption
				expiration := 0
				if expired {
					expiration = 60
					cfg = append(cfg, region.WithExpirationTime(time.Minute))
					old := region.DogpileEnvelope.Append(nil, region.Metadata{CreatedAt: time.Now().Add(-time.Hour), Version: region.ValueVersion},
						[]byte(`"old"`))
					if err := raw.Set(ctx, key, old, 0).Err(); err != nil {
						t.Fatal(err)
					}
					waitReplicated(t, ctx, tp)
				}
				startAt := time.Now().Add(3 * time.Second)
				var wg sync.WaitGroup
				results := make(chan string, 6)
				for i := range 3 {
					wg.Go(func() {
						req := pyRequest{Backend: tp.name, Arguments: args, Serializer: "json", ExpirationTime: expiration, Action: "stampede",
							Key: key, Counter: counter, Who: fmt.Sprintf("python %d", i),
							StartAt: float64(startAt.UnixNano()) / 1e9, CreateSeconds: 1}
						var out struct{ Value string }
						runPy(t, ctx, py, req, &out)
						results <- out.Value
					})
				}
				regions := make([]*region.Region, 3)
				for i := range regions {
					regions[i] = newRegion(t, jsonRegion, tp.name, args, cfg...)
				}
				for i, r := range regions {
					wg.Go(func() {
						time.Sleep(time.Until(startAt))
						v, err := r.GetOrCreate(ctx, key, func(ctx context.Context) (any, error) {
							if err := raw.Incr(ctx, counter).Err(); err != nil {
								return nil, err
							}
							time.Sleep(time.Second)
							return fmt.Sprintf("created by go %d", i), nil
						})
						if err != nil {
							t.Errorf("go %d: %v", i, err)
							results <- ""
							return
						}
						results <- fmt.Sprint(v)
					})
				}
				wg.Wait()
				close(results)
				runs, err := raw.Get(ctx, counter).Int()
				if err != nil || runs != 1 {
					t.Fatalf("%d creators ran (%v); want exactly 1", runs, err)
				}
				created, old := "", 0
				for v := range results {
					switch {
					case v == "old" && expired:
						old++
					case v == "" || (created != "" && v != created):
						t.Errorf("a caller got %q; the creator made %q", v, created)
					default:
						created = v
					}
				}
				if created == "" {
					t.Fatal("no caller got the created value")
				}
				t.Logf("%s; %d callers served the old value", created, old)
			})
		}
	}
}

// pyLockHolder is a Python process holding a key's dogpile lock until
// told to release it.
type pyLockHolder struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	out   *bufio.Reader
}

func startPyLockHolder(t *testing.T, py *pyrun.Python, req pyRequest) *pyLockHolder {
	t.Helper()
	req.Action = "lock-hold"
	in, _ := json.Marshal(req)
	cmd := exec.Command(py.Path, "-I", "-X", "utf8", "testdata/interop.py")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	h := &pyLockHolder{cmd: cmd, stdin: stdin, out: bufio.NewReader(stdout)}
	t.Cleanup(func() {
		_ = stdin.Close()
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	if _, err := stdin.Write(append(in, '\n')); err != nil {
		t.Fatal(err)
	}
	var got struct{ Acquired bool }
	h.read(t, &got)
	if !got.Acquired {
		t.Fatal("the Python process did not get the lock")
	}
	return h
}

func (h *pyLockHolder) read(t *testing.T, out any) {
	t.Helper()
	line, err := h.out.ReadBytes('\n')
	if err != nil {
		t.Fatalf("python lock holder: %v (printed %q)", err, line)
	}
	if err := json.Unmarshal(line, out); err != nil {
		t.Fatalf("python lock holder printed %q: %v", line, err)
	}
}

// release tells the Python process to release its lock and reports how
// that went.
func (h *pyLockHolder) release(t *testing.T) (bool, string) {
	t.Helper()
	if _, err := h.stdin.Write([]byte("release\n")); err != nil {
		t.Fatal(err)
	}
	var got struct {
		Released bool
		Error    string
	}
	h.read(t, &got)
	return got.Released, got.Error
}

// The dogpile lock is shared both ways: a lock held by Go keeps Python's
// acquire(wait=False) out and the other way round; Python releases its
// own lock; a Go release never deletes Python's lock.
func TestPythonInteropLocks(t *testing.T) {
	py := requirePython(t)
	for _, tp := range topologies {
		t.Run(tp.name, func(t *testing.T) {
			ctx := testCtx(t)
			args := with(pyArgs(t, tp), region.Arguments{"distributed_lock": true, "thread_local_lock": false})
			r := newRegion(t, nil, tp.name, args)
			raw := rawClient(t, tp)
			key := testservers.UniqueKey(t, "k")
			goMutex := func(args region.Arguments) *redismutex.PyLock {
				t.Helper()
				m, ok := r.ActualBackend().GetMutex(key).(*redismutex.PyLock)
				if !ok {
					t.Fatalf("GetMutex = %T; want *redismutex.PyLock", r.ActualBackend().GetMutex(key))
				}
				return m
			}
			probe := func() (acquired, locked bool) {
				t.Helper()
				var out struct{ Acquired, Locked bool }
				runPy(t, ctx, py, pyRequest{Backend: tp.name, Arguments: args, Action: "lock-probe", Key: key}, &out)
				return out.Acquired, out.Locked
			}

			// Go holds: Python cannot take the lock, and sees it locked.
			g := goMutex(args)
			if ok, err := g.Acquire(ctx, false); !ok || err != nil {
				t.Fatalf("Go Acquire = %v, %v", ok, err)
			}
			if acquired, locked := probe(); acquired || !locked {
				t.Fatalf("with Go holding the lock, Python's acquire(False) = %v, locked() = %v; want False, True", acquired, locked)
			}
			if err := g.Release(ctx); err != nil {
				t.Fatal(err)
			}
			if acquired, locked := probe(); !acquired || locked {
				t.Fatalf("after Go released, Python's acquire(False) = %v, locked() = %v; want True, False", acquired, locked)
			}

			// Python holds: Go cannot take it, sees it locked, and a Go
			// release (of a lock Go does not hold) leaves it alone.
			h := startPyLockHolder(t, py, pyRequest{Backend: tp.name, Arguments: args, Key: key})
			token, err := raw.Get(ctx, "_lock"+key).Result()
			if err != nil {
				t.Fatalf("Python's lock key: %v", err)
			}
			g2 := goMutex(args)
			if ok, err := g2.Acquire(ctx, false); ok || err != nil {
				t.Fatalf("with Python holding the lock, Go Acquire = %v, %v; want false", ok, err)
			}
			if locked, err := r.KeyIsLocked(ctx, key); !locked || err != nil {
				t.Fatalf("KeyIsLocked = %v, %v; want true", locked, err)
			}
			if err := g2.Release(ctx); !errors.Is(err, lockmutex.ErrNotHeld) {
				t.Fatalf("Go Release of a lock it does not hold = %v; want ErrNotHeld", err)
			}
			if v, _ := raw.Get(ctx, "_lock"+key).Result(); v != token {
				t.Fatalf("after Go's Release the lock key holds %q; want Python's token %q", v, token)
			}
			if ok, msg := h.release(t); !ok {
				t.Fatalf("Python could not release its own lock: %s", msg)
			}
			if n := raw.Exists(ctx, "_lock"+key).Val(); n != 0 {
				t.Fatal("Python's release left the lock key")
			}

			// A Go lock that expired and was then taken by Python: Go's
			// release finds it lost and leaves Python's lock alone.
			rx := newRegion(t, nil, tp.name, with(args, region.Arguments{"lock_timeout": 0.3}))
			g3, _ := rx.ActualBackend().GetMutex(key).(*redismutex.PyLock)
			if ok, err := g3.Acquire(ctx, false); !ok || err != nil {
				t.Fatalf("Go Acquire = %v, %v", ok, err)
			}
			time.Sleep(500 * time.Millisecond)
			h2 := startPyLockHolder(t, py, pyRequest{Backend: tp.name, Arguments: args, Key: key})
			if err := g3.Release(ctx); !errors.Is(err, lockmutex.ErrLockLost) {
				t.Fatalf("Go Release of its expired lock = %v; want ErrLockLost", err)
			}
			if n := raw.Exists(ctx, "_lock"+key).Val(); n != 1 {
				t.Fatal("Go's Release deleted Python's lock")
			}
			if ok, msg := h2.release(t); !ok {
				t.Fatalf("Python could not release its own lock: %s", msg)
			}
		})
	}
}
