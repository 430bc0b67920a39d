package logging_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	_ "github.com/dogpile-go/dogpile/backends/memory"
	"github.com/dogpile-go/dogpile/internal/backendtest"
	"github.com/dogpile-go/dogpile/proxies/logging"
	"github.com/dogpile-go/dogpile/region"
)

// recorder is a JSON slog handler writing to a buffer, read back as
// records.
type recorder struct {
	mu  sync.Mutex
	buf bytes.Buffer
	h   slog.Handler
}

func newRecorder(level slog.Leveler) *recorder {
	rec := &recorder{}
	rec.h = slog.NewJSONHandler(lockedWriter{rec}, &slog.HandlerOptions{Level: level})
	return rec
}

type lockedWriter struct{ r *recorder }

func (w lockedWriter) Write(p []byte) (int, error) {
	w.r.mu.Lock()
	defer w.r.mu.Unlock()
	return w.r.buf.Write(p)
}

func (r *recorder) logger() *slog.Logger { return slog.New(r.h) }

// count returns how many records written so far contain s.
func (r *recorder) count(s string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return strings.Count(r.buf.String(), s)
}

// records returns the records written so far and forgets them.
func (r *recorder) records(t *testing.T) []map[string]any {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []map[string]any
	for line := range strings.Lines(r.buf.String()) {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("bad record %q: %v", line, err)
		}
		out = append(out, m)
	}
	r.buf.Reset()
	return out
}

// check asserts that rec has the fields of want (and a duration when
// timed).
func check(t *testing.T, rec map[string]any, want map[string]any, timed bool) {
	t.Helper()
	for k, v := range want {
		got, ok := rec[k]
		if !ok {
			t.Errorf("record %v: no %q, want %v", rec, k, v)
			continue
		}
		gb, _ := json.Marshal(got)
		wb, _ := json.Marshal(v)
		if !bytes.Equal(gb, wb) {
			t.Errorf("record %v: %s = %s, want %s", rec, k, gb, wb)
		}
	}
	d, ok := rec[logging.KeyDuration]
	if timed {
		if f, isNum := d.(float64); !ok || !isNum || f < 0 {
			t.Errorf("record %v: duration = %v, want nanoseconds >= 0", rec, d)
		}
	} else if ok {
		t.Errorf("record %v: has a duration, want none", rec)
	}
}

func configured(t *testing.T, name string, p *logging.Proxy) *region.Region {
	t.Helper()
	r := region.New(name)
	if err := r.Configure("memory", region.WithWrap(p)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = r.Close() })
	return r
}

func TestOperationsAtDebug(t *testing.T) {
	ctx := context.Background()
	rec := newRecorder(slog.LevelDebug)
	p := logging.New(logging.Options{Logger: rec.logger()})
	r := configured(t, "users", p)
	if p.RegionName() != "users" {
		t.Fatalf("RegionName = %q", p.RegionName())
	}

	if err := r.Set(ctx, "u1", "ann"); err != nil {
		t.Fatal(err)
	}
	_, _, _ = r.Get(ctx, "u1")
	_, _, _ = r.Get(ctx, "u9")
	_ = r.SetMulti(ctx, map[string]any{"u3": 3, "u2": 2})
	_, _ = r.GetMulti(ctx, []string{"u1", "u2", "u9"})
	_ = r.Delete(ctx, "u1")
	_ = r.DeleteMulti(ctx, []string{"u2", "u3"})

	recs := rec.records(t)
	want := []map[string]any{
		{"level": "DEBUG", "msg": "cache set", "region": "users", "op": "set", "key": "u1"},
		{"level": "DEBUG", "msg": "cache get", "region": "users", "op": "get", "key": "u1", "found": true},
		{"level": "DEBUG", "msg": "cache get", "region": "users", "op": "get", "key": "u9", "found": false},
		{"level": "DEBUG", "msg": "cache set_multi", "region": "users", "op": "set_multi", "keys": []string{"u2", "u3"}},
		{"level": "DEBUG", "msg": "cache get_multi", "region": "users", "op": "get_multi", "keys": []string{"u1", "u2", "u9"}, "hits": 2},
		{"level": "DEBUG", "msg": "cache delete", "region": "users", "op": "delete", "key": "u1"},
		{"level": "DEBUG", "msg": "cache delete_multi", "region": "users", "op": "delete_multi", "keys": []string{"u2", "u3"}},
	}
	if len(recs) != len(want) {
		t.Fatalf("got %d records, want %d: %v", len(recs), len(want), recs)
	}
	for i := range want {
		check(t, recs[i], want[i], true)
		if _, ok := recs[i]["error"]; ok {
			t.Errorf("record %v has an error", recs[i])
		}
	}
}

func TestCreationsAndLockWaits(t *testing.T) {
	ctx := context.Background()
	rec := newRecorder(slog.LevelDebug)
	r := configured(t, "tokens", logging.New(logging.Options{Logger: rec.logger()}))

	boom := errors.New("boom")
	if _, err := r.GetOrCreate(ctx, "bad", func(context.Context) (any, error) { return nil, boom }); !errors.Is(err, boom) {
		t.Fatal(err)
	}
	if _, err := r.GetOrCreate(ctx, "good", func(context.Context) (any, error) {
		time.Sleep(5 * time.Millisecond)
		return 1, nil
	}); err != nil {
		t.Fatal(err)
	}
	var creations []map[string]any
	for _, m := range rec.records(t) {
		if m["msg"] == logging.MsgCreation {
			creations = append(creations, m)
		}
	}
	if len(creations) != 2 {
		t.Fatalf("creation records = %v, want 2", creations)
	}
	check(t, creations[0], map[string]any{"level": "WARN", "region": "tokens", "op": "create", "key": "bad", "error": "boom"}, true)
	check(t, creations[1], map[string]any{"level": "DEBUG", "region": "tokens", "op": "create", "key": "good"}, true)
	if d := creations[1]["duration"].(float64); d < float64(5*time.Millisecond) {
		t.Errorf("creation duration = %vns, want >= 5ms", d)
	}

	// Two callers on a missing key with a slow creator: one waits.
	started, release := make(chan struct{}), make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		_, _ = r.GetOrCreate(ctx, "slow", func(context.Context) (any, error) {
			close(started)
			<-release
			return 1, nil
		})
	})
	<-started
	wg.Go(func() { _, _ = r.GetOrCreate(ctx, "slow", func(context.Context) (any, error) { return 2, nil }) })
	// The second caller's read comes just before it joins the wait: once
	// it is logged (after the leader's two), give it a moment more.
	backendtest.AwaitJoined(t, func() bool { return rec.count(`"msg":"cache get"`) >= 3 })
	close(release)
	wg.Wait()
	var waits []map[string]any
	for _, m := range rec.records(t) {
		if m["msg"] == logging.MsgLockWait {
			waits = append(waits, m)
		}
	}
	if len(waits) != 1 {
		t.Fatalf("lock wait records = %v, want 1", waits)
	}
	check(t, waits[0], map[string]any{"level": "DEBUG", "region": "tokens", "op": "lock_wait", "key": "slow"}, true)
	if d := waits[0]["duration"].(float64); d < float64(50*time.Millisecond) {
		t.Errorf("lock wait duration = %vns, want at least 50ms", d)
	}
}

func TestErrors(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name  string
		level slog.Level
		timed bool
	}{
		{"debug on", slog.LevelDebug, true},
		{"debug off", slog.LevelInfo, false}, // errors still logged, not timed
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := newRecorder(tc.level)
			p := logging.New(logging.Options{Logger: rec.logger()})
			p.SetProxied(backendtest.Failing{})
			p.SetRegionName("down")
			_, _, _ = p.Get(ctx, "k")
			_, _ = p.GetMulti(ctx, []string{"a", "b"})
			_ = p.Set(ctx, "k", region.CachedValue{})
			_ = p.SetMulti(ctx, map[string]region.CachedValue{"b": {}, "a": {}})
			_ = p.Delete(ctx, "k")
			_ = p.DeleteMulti(ctx, []string{"a"})
			recs := rec.records(t)
			want := []map[string]any{
				{"msg": "cache get", "op": "get", "key": "k"},
				{"msg": "cache get_multi", "op": "get_multi", "keys": []string{"a", "b"}},
				{"msg": "cache set", "op": "set", "key": "k"},
				{"msg": "cache set_multi", "op": "set_multi", "keys": []string{"a", "b"}},
				{"msg": "cache delete", "op": "delete", "key": "k"},
				{"msg": "cache delete_multi", "op": "delete_multi", "keys": []string{"a"}},
			}
			if len(recs) != len(want) {
				t.Fatalf("got %d records, want %d: %v", len(recs), len(want), recs)
			}
			for i, w := range want {
				w["level"], w["region"], w["error"] = "ERROR", "down", "backend down"
				check(t, recs[i], w, tc.timed)
			}
		})
	}
}

func TestLevels(t *testing.T) {
	ctx := context.Background()
	rec := newRecorder(slog.LevelInfo)
	lv := new(slog.LevelVar)
	lv.Set(slog.LevelDebug)
	p := logging.New(logging.Options{
		Logger:            rec.logger(),
		Level:             lv,
		CreationLevel:     slog.LevelInfo,
		CreatorErrorLevel: slog.LevelError,
	})
	r := configured(t, "levels", p)
	// Operations at Debug: below the handler's Info, so not logged;
	// creations at Info are.
	_, _ = r.GetOrCreate(ctx, "k", func(context.Context) (any, error) { return 1, nil })
	_, _ = r.GetOrCreate(ctx, "e", func(context.Context) (any, error) { return nil, errors.New("no") })
	recs := rec.records(t)
	if len(recs) != 2 {
		t.Fatalf("records = %v, want the two creations", recs)
	}
	check(t, recs[0], map[string]any{"level": "INFO", "msg": "cache creation", "key": "k"}, true)
	check(t, recs[1], map[string]any{"level": "ERROR", "msg": "cache creation", "key": "e", "error": "no"}, true)

	// Raising the operation level at run time turns operation records on.
	lv.Set(slog.LevelInfo)
	_, _, _ = r.Get(ctx, "k")
	recs = rec.records(t)
	if len(recs) != 1 {
		t.Fatalf("records = %v, want the get", recs)
	}
	check(t, recs[0], map[string]any{"level": "INFO", "msg": "cache get", "key": "k", "found": true}, true)
}

// TestFromConfig installs the proxy by its registered name; it logs to
// slog.Default().
func TestFromConfig(t *testing.T) {
	ctx := context.Background()
	rec := newRecorder(slog.LevelDebug)
	old := slog.Default()
	slog.SetDefault(rec.logger())
	t.Cleanup(func() { slog.SetDefault(old) })

	for _, name := range []string{"conf-a", "conf-b"} {
		r := region.New(name)
		if err := r.ConfigureFromConfig(map[string]any{"c.backend": "memory", "c.wrap": "logging"}, "c."); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = r.Close() })
		if _, ok := r.Backend().(*logging.Proxy); !ok {
			t.Fatalf("Backend() = %T, want *logging.Proxy", r.Backend())
		}
		_, _, _ = r.Get(ctx, "k")
	}
	recs := rec.records(t)
	if len(recs) != 2 {
		t.Fatalf("records = %v", recs)
	}
	check(t, recs[0], map[string]any{"msg": "cache get", "region": "conf-a", "key": "k", "found": false}, true)
	check(t, recs[1], map[string]any{"msg": "cache get", "region": "conf-b", "key": "k", "found": false}, true)
}

// TestDisabledCostsNoAllocation: with the operation level off, a read
// through the proxy allocates no more than without it.
func TestDisabledCostsNoAllocation(t *testing.T) {
	ctx := context.Background()
	off := slog.New(slog.NewJSONHandler(discard{}, &slog.HandlerOptions{Level: slog.LevelInfo}))
	r := configured(t, "quiet", logging.New(logging.Options{Logger: off}))
	plain := region.New("plain")
	if err := plain.Configure("memory"); err != nil {
		t.Fatal(err)
	}
	for _, rr := range []*region.Region{r, plain} {
		if err := rr.Set(ctx, "k", "v"); err != nil {
			t.Fatal(err)
		}
	}
	with := testing.AllocsPerRun(1000, func() { _, _, _ = region.GetAs[string](ctx, r, "k") })
	without := testing.AllocsPerRun(1000, func() { _, _, _ = region.GetAs[string](ctx, plain, "k") })
	if with != without {
		t.Errorf("allocs per hit: %v with the proxy (Debug off), %v without", with, without)
	}
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

func TestHashedKeysKeepSecretsOutOfLogs(t *testing.T) {
	var buf bytes.Buffer
	logger := slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	p := logging.New(logging.Options{Logger: logger, KeyValue: logging.HashedKey})
	r := region.New("secrets")
	if err := r.Configure("memory", region.WithWrap(p)); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	secret := "token-4f1c9a-bearer"
	_ = r.Set(ctx, secret, "v")
	_, _, _ = r.Get(ctx, secret)
	_, _ = r.GetMulti(ctx, []string{secret})
	_, _ = r.GetOrCreate(ctx, "other-"+secret, func(context.Context) (any, error) { return nil, errors.New("boom") })
	out := buf.String()
	if strings.Contains(out, secret) {
		t.Fatalf("a key reached the log:\n%s", out)
	}
	if !strings.Contains(out, string(logging.HashedKey(secret).String())) {
		t.Fatalf("the hashed key is missing:\n%s", out)
	}
}
