package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	_ "github.com/dogpile-go/dogpile/backends/gocache"
	_ "github.com/dogpile-go/dogpile/backends/memcache"
	_ "github.com/dogpile-go/dogpile/backends/memory"
	"github.com/dogpile-go/dogpile/internal/testservers"
	"github.com/dogpile-go/dogpile/region"
)

// workerEnv makes the test binary a bench worker process (see
// workerCommand).
const workerEnv = "DOGPILE_BENCH_TEST_WORKER"

func TestMain(m *testing.M) {
	if os.Getenv(workerEnv) == "1" {
		// As the dogpile command's worker: SIGINT ends the run, which then
		// reports its counts so far.
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
		defer stop()
		if err := RunWorker(ctx, os.Stdin, os.Stdout); err != nil {
			fmt.Fprintln(os.Stderr, "worker:", err)
			os.Exit(2)
		}
		os.Exit(0)
	}
	goleak.VerifyTestMain(m)
}

// workerCommand runs this test binary as a worker process.
func workerCommand(ctx context.Context) *exec.Cmd {
	return testservers.ChildContext(ctx, workerEnv+"=1")
}

// testWorkload is small enough for -race on two cores: 4 expiry windows
// per strategy.
func testWorkload() Workload {
	return Workload{
		Goroutines:     40,
		Keys:           5,
		ZipfS:          1.1,
		CreatorLatency: 20 * time.Millisecond,
		Expiration:     500 * time.Millisecond,
		Duration:       2 * time.Second,
		Think:          time.Millisecond,
	}
}

func resultOf(t *testing.T, rep *Report, s Strategy) Result {
	t.Helper()
	for _, r := range rep.Results {
		if r.Strategy == s {
			return r
		}
	}
	t.Fatalf("no result for %s", s)
	return Result{}
}

// TestRunShowsTheStampede is the point of `dogpile bench`: the region
// strategies create each key about once per expiry window, plain
// cache-aside many times.
func TestRunShowsTheStampede(t *testing.T) {
	w := testWorkload()
	var prog recordingProgress
	rep, err := Run(t.Context(), Options{Workload: w, Progress: &prog})
	if err != nil {
		t.Fatal(err)
	}
	var table bytes.Buffer
	if err := rep.WriteTable(&table); err != nil {
		t.Fatal(err)
	}
	t.Logf("\n%s", table.String())
	if len(rep.Results) != 4 || rep.Backend != "memory" || rep.Procs != 1 {
		t.Fatalf("report: %d results, backend %q, procs %d", len(rep.Results), rep.Backend, rep.Procs)
	}
	if prog.starts != 4 || prog.finishes != 4 || prog.updates == 0 {
		t.Errorf("progress: %d starts, %d finishes, %d updates", prog.starts, prog.finishes, prog.updates)
	}
	for _, r := range rep.Results {
		if r.Requests == 0 || r.CreatorCalls == 0 || r.KeysTouched != w.Keys || r.Errors != 0 {
			t.Errorf("%s: %d requests, %d creator calls, %d keys touched, %d errors (%s)",
				r.Strategy, r.Requests, r.CreatorCalls, r.KeysTouched, r.Errors, r.FirstError)
		}
		if r.Elapsed < w.Duration || r.Elapsed > w.Duration+time.Second {
			t.Errorf("%s ran %s for a duration of %s", r.Strategy, r.Elapsed, w.Duration)
		}
		if !(r.P50 <= r.P99 && r.P99 <= r.Max) {
			t.Errorf("%s: latencies p50 %s p99 %s max %s out of order", r.Strategy, r.P50, r.P99, r.Max)
		}
	}
	for _, s := range []Strategy{Region, RegionAsync} {
		r := resultOf(t, rep, s)
		if c := r.CallsPerKeyWindow(w); c < 0.6 || c > 1.5 {
			t.Errorf("%s: %.2f creator calls per key per window, want about 1", s, c)
		}
	}
	if got := resultOf(t, rep, RegionAsync).StaleServed; got == 0 {
		t.Errorf("region-async served no stale values; it serves the old value during every regeneration")
	}
	aside := resultOf(t, rep, CacheAside).CallsPerKeyWindow(w)
	region := resultOf(t, rep, Region).CallsPerKeyWindow(w)
	if aside < 3*region || aside < 3 {
		t.Errorf("cache-aside: %.2f creator calls per key per window, region %.2f: want a stampede (far more)", aside, region)
	}
	if got := resultOf(t, rep, CacheAside).MaxCallsInKeyWindow; got < 3 {
		t.Errorf("cache-aside: at most %d creator calls in one key's window, want a stampede", got)
	}
}

type recordingProgress struct{ starts, updates, finishes int }

func (p *recordingProgress) Start(Strategy, int, int, time.Duration) { p.starts++ }
func (p *recordingProgress) Update(time.Duration)                    { p.updates++ }
func (p *recordingProgress) Finish()                                 { p.finishes++ }

func TestRunInWorkerProcesses(t *testing.T) {
	w := testWorkload()
	w.Duration = time.Second
	w.Goroutines = 20
	rep, err := Run(t.Context(), Options{
		Workload: w, Strategies: []Strategy{Region, CacheAside}, Procs: 2, WorkerCommand: workerCommand,
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rep.Results {
		if r.Procs != 2 || r.Requests == 0 || r.Errors != 0 || r.KeysTouched != w.Keys {
			t.Errorf("%s: procs %d, %d requests, %d errors (%s), %d keys", r.Strategy, r.Procs, r.Requests, r.Errors, r.FirstError, r.KeysTouched)
		}
	}
	// The memory backend lives in each process: two processes, two
	// creations per key per window.
	if c := resultOf(t, rep, Region).CallsPerKeyWindow(w); c < 1.4 || c > 2.6 {
		t.Errorf("region in 2 processes on memory: %.2f creator calls per key per window, want about 2", c)
	}
}

// TestRunSharedBackendAcrossProcesses runs the region strategy in three
// processes on memcached: the distributed lock keeps creations near one per
// key per window in total.
func TestRunSharedBackendAcrossProcesses(t *testing.T) {
	servers := strings.Join(testservers.Memcached(t), ",")
	w := testWorkload()
	w.Duration = 2 * time.Second
	w.Goroutines = 20
	rep, err := Run(t.Context(), Options{
		Workload:      w,
		Strategies:    []Strategy{Region},
		Procs:         3,
		WorkerCommand: workerCommand,
		Backend:       Backend{Conf: map[string]any{"backend": "memcached", "arguments.url": servers, "arguments.memcached_expire_time": 60}},
	})
	if err != nil {
		t.Fatal(err)
	}
	r := rep.Results[0]
	c := r.CallsPerKeyWindow(w)
	t.Logf("region in 3 processes on memcached: %d requests, %d creator calls, %.2f per key per window, %d stale, p99 %s",
		r.Requests, r.CreatorCalls, c, r.StaleServed, r.P99)
	if r.Errors != 0 {
		t.Errorf("%d errors: %s", r.Errors, r.FirstError)
	}
	// Three processes without a shared lock would make 3 per window.
	if c < 0.6 || c > 1.6 {
		t.Errorf("%.2f creator calls per key per window across 3 processes, want about 1", c)
	}
}

// TestKeystoneBackend: a keystone.conf configures the regions as
// oslocache does (the SHA-1 key mangler of oslo.cache's
// configure_cache_region, the file's arguments and the --arg ones over
// them), with the workload's expiration.
func TestKeystoneBackend(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keystone.conf")
	if err := os.WriteFile(path, []byte("[cache]\nenabled = true\nbackend = dogpile.cache.memory\nexpiration_time = 600\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	b := Backend{KeystoneConf: path}
	if b.Name() != "dogpile.cache.memory" {
		t.Errorf("Name() = %q", b.Name())
	}
	r := region.New("keystone")
	defer r.Close()
	if err := b.configure(r, 3*time.Second); err != nil {
		t.Fatal(err)
	}
	if r.KeyMangler() == nil || r.KeyMangler()("k") != region.SHA1MangleKey("k") {
		t.Error("the region has no SHA-1 key mangler")
	}
	if r.ExpirationTime() != 3*time.Second {
		t.Errorf("expiration %v, want the workload's 3s", r.ExpirationTime())
	}
	// An argument over the file reaches the backend (here: refused by it,
	// naming it).
	bad := Backend{KeystoneConf: path, KeystoneArgs: map[string]string{"lokc_timeout": "5"}}
	if err := bad.configure(region.New("bad"), time.Second); err == nil || !strings.Contains(err.Error(), "lokc_timeout") {
		t.Errorf("err = %v, want the unknown argument", err)
	}
	// The worker processes read the file themselves.
	servers := testservers.Memcached(t)
	shared := filepath.Join(t.TempDir(), "memcached.conf")
	if err := os.WriteFile(shared, []byte("[cache]\nenabled = true\nbackend = dogpile.cache.pymemcache\nmemcache_servers = "+strings.Join(servers, ",")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	w := testWorkload()
	rep, err := Run(t.Context(), Options{Workload: w, Strategies: []Strategy{Region, CacheAside}, Procs: 2, WorkerCommand: workerCommand, Backend: Backend{KeystoneConf: shared}})
	if err != nil {
		t.Fatal(err)
	}
	reg, aside := resultOf(t, rep, Region), resultOf(t, rep, CacheAside)
	if reg.Store != "dogpile.cache.pymemcache" || aside.Store != "gomemcache" || reg.Errors != 0 || aside.Errors != 0 {
		t.Errorf("region on %q (%d errors: %s), cache-aside on %q (%d errors: %s)", reg.Store, reg.Errors, reg.FirstError, aside.Store, aside.Errors, aside.FirstError)
	}
	// oslo.cache gives the memcached backends no distributed lock (as in
	// Python): one creation per key per window in each process.
	if c := reg.CallsPerKeyWindow(w); c < 0.6 || c > 2.6 {
		t.Errorf("%.2f creator calls per key per window across 2 processes, want 1 to 2", c)
	}
}

func TestRunUnreachableBackend(t *testing.T) {
	w := testWorkload()
	_, err := Run(t.Context(), Options{
		Workload:     w,
		Strategies:   []Strategy{Region},
		Backend:      Backend{Conf: map[string]any{"backend": "memcached", "arguments.url": "127.0.0.1:1", "arguments.socket_timeout": "200ms"}},
		ProbeTimeout: 2 * time.Second,
	})
	var be *BackendError
	if err == nil || !errors.As(err, &be) || be.Backend != "memcached" {
		t.Fatalf("err = %v, want a *BackendError for memcached", err)
	}
	if !strings.Contains(err.Error(), "127.0.0.1:1") {
		t.Errorf("err = %v, want the address", err)
	}
}

func TestRunUnknownBackend(t *testing.T) {
	_, err := Run(t.Context(), Options{Workload: testWorkload(), Backend: Backend{Conf: map[string]any{"backend": "nope"}}})
	if err == nil || !strings.Contains(err.Error(), `"nope"`) {
		t.Fatalf("err = %v", err)
	}
}

// TestRunCancelled: a run that is interrupted stops at once and returns
// what it measured: the strategies done, and the current one's counts so
// far, marked partial.
func TestRunCancelled(t *testing.T) {
	w := testWorkload()
	w.Duration = 700 * time.Millisecond
	ctx, cancel := context.WithTimeout(t.Context(), w.Duration+400*time.Millisecond)
	defer cancel()
	w.Duration = 700 * time.Millisecond
	start := time.Now()
	rep, err := Run(ctx, Options{Workload: w, Strategies: []Strategy{CacheAside, RegionAsync, Region}})
	if err != context.DeadlineExceeded {
		t.Fatalf("err = %v, want context.DeadlineExceeded", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("took %s to stop", d)
	}
	if rep == nil || !rep.Interrupted || rep.Complete() || len(rep.Results) != 2 {
		t.Fatalf("report %+v, want cache-aside complete and region-async partial", rep)
	}
	first, second := rep.Results[0], rep.Results[1]
	if first.Strategy != CacheAside || first.Partial || first.Requests == 0 {
		t.Errorf("first result %+v", first)
	}
	if second.Strategy != RegionAsync || !second.Partial || second.Requests == 0 || second.Elapsed >= w.Duration {
		t.Errorf("second result %+v, want partial with requests", second)
	}
	if got := rep.NotRun(); len(got) != 1 || got[0] != Region {
		t.Errorf("NotRun() = %v, want [region]", got)
	}
	var table bytes.Buffer
	if err := rep.WriteTable(&table); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"cache-aside (go-cache) ", "region.GetOrCreate+async (memory) *", "* region-async was stopped after",
		"INTERRUPTED: the results above are those measured so far. Not run: region."} {
		if !strings.Contains(table.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, table.String())
		}
	}
	var js bytes.Buffer
	if err := rep.WriteJSON(&js); err != nil {
		t.Fatal(err)
	}
	var got struct {
		Complete    bool `json:"complete"`
		Interrupted bool `json:"interrupted"`
		Results     []struct {
			Partial bool `json:"partial"`
		} `json:"results"`
	}
	if err := json.Unmarshal(js.Bytes(), &got); err != nil || got.Complete || !got.Interrupted || len(got.Results) != 2 || !got.Results[1].Partial {
		t.Errorf("JSON %s (%v)", js.String(), err)
	}
}

// TestRunProcsInterrupted: interrupted, the worker processes report their
// counts so far, and the parent returns them.
func TestRunProcsInterrupted(t *testing.T) {
	w := testWorkload()
	w.Duration = time.Minute
	w.Goroutines = 10
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	prog := &signalProgress{started: make(chan struct{}, 4)}
	type out struct {
		rep *Report
		err error
	}
	done := make(chan out, 1)
	go func() {
		rep, err := Run(ctx, Options{Workload: w, Strategies: []Strategy{Region}, Procs: 2, WorkerCommand: workerCommand, Progress: prog})
		done <- out{rep, err}
	}()
	<-prog.started
	time.Sleep(1500 * time.Millisecond) // the workers start, then run
	cancel()
	start := time.Now()
	o := <-done
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("took %s to stop", d)
	}
	if !errors.Is(o.err, context.Canceled) || o.rep == nil || len(o.rep.Results) != 1 {
		t.Fatalf("err %v, report %+v", o.err, o.rep)
	}
	r := o.rep.Results[0]
	if !r.Partial || r.Requests == 0 || r.Procs != 2 {
		t.Errorf("result %+v, want a partial one with the workers' requests", r)
	}
}

type signalProgress struct{ started chan struct{} }

func (p *signalProgress) Start(Strategy, int, int, time.Duration) { p.started <- struct{}{} }
func (p *signalProgress) Update(time.Duration)                    {}
func (p *signalProgress) Finish()                                 {}

// TestRunServerDiesMidRun: the memcached server dies during the first
// strategy. That strategy ends with its errors counted; the next cannot
// start: the report keeps the first and names the strategy that failed.
func TestRunServerDiesMidRun(t *testing.T) {
	addr, srv := testservers.StartMemcached(t)
	w := testWorkload()
	w.Duration = 1500 * time.Millisecond
	w.Goroutines = 10
	conf := map[string]any{"backend": "memcached", "arguments.url": addr, "arguments.socket_timeout": "300ms"}
	prog := &signalProgress{started: make(chan struct{}, 4)}
	stopped, quit := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(stopped)
		select {
		case <-prog.started:
		case <-quit:
			return
		}
		time.Sleep(500 * time.Millisecond)
		srv.Stop()
	}()
	defer func() { close(quit); <-stopped }()
	rep, err := Run(t.Context(), Options{Workload: w, Strategies: []Strategy{Region, RegionAsync}, Backend: Backend{Conf: conf},
		Progress: prog, ProbeTimeout: 2 * time.Second})
	var se *StrategyError
	if !errors.As(err, &se) || se.Strategy != RegionAsync {
		t.Fatalf("err = %v, want a *StrategyError for region-async", err)
	}
	if rep == nil || rep.Failure != se || len(rep.Results) != 1 || rep.Results[0].Strategy != Region || rep.Results[0].Requests == 0 {
		t.Fatalf("report %+v", rep)
	}
	var table bytes.Buffer
	_ = rep.WriteTable(&table)
	if !strings.Contains(table.String(), "FAILED: strategy region-async: ") || !strings.Contains(table.String(), "region.GetOrCreate (memcached)") {
		t.Errorf("table:\n%s", table.String())
	}
	var js bytes.Buffer
	_ = rep.WriteJSON(&js)
	var got struct {
		Failure struct {
			Strategy string `json:"strategy"`
			Error    string `json:"error"`
		} `json:"failure"`
		Results []json.RawMessage `json:"results"`
	}
	if err := json.Unmarshal(js.Bytes(), &got); err != nil || got.Failure.Strategy != "region-async" || got.Failure.Error == "" || len(got.Results) != 1 {
		t.Errorf("JSON %s (%v)", js.String(), err)
	}
}

func TestWorkerReportsSetupErrors(t *testing.T) {
	spec := workerSpec{Workload: wireWorkload(testWorkload()), Strategy: Region, Backend: Backend{Conf: map[string]any{"backend": "nope"}}, RunID: "x"}
	line, _ := json.Marshal(spec)
	var out bytes.Buffer
	err := RunWorker(t.Context(), strings.NewReader(string(line)+"\n"), &out)
	if err == nil {
		t.Fatal("no error")
	}
	var m workerMsg
	if jerr := json.Unmarshal(out.Bytes(), &m); jerr != nil || !strings.Contains(m.Error, "nope") {
		t.Fatalf("worker wrote %q (%v)", out.String(), jerr)
	}
}

func TestWorkloadValidate(t *testing.T) {
	if err := DefaultWorkload().Validate(); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		set     func(*Workload)
		setting string
		value   string
		allowed string
	}{
		{func(w *Workload) { w.Goroutines = 0 }, "goroutines", "0", "1 to 10000"},
		{func(w *Workload) { w.Keys = 2_000_000 }, "keys", "2000000", "1 to 1000000"},
		{func(w *Workload) { w.ZipfS = 1 }, "zipf", "1", "a number greater than 1 and at most 100"},
		{func(w *Workload) { w.ZipfS = math.Inf(1) }, "zipf", "+Inf", "greater than 1"},
		{func(w *Workload) { w.ZipfS = math.NaN() }, "zipf", "NaN", "greater than 1"},
		{func(w *Workload) { w.ZipfS = 1e300 }, "zipf", "1e+300", "at most 100"},
		{func(w *Workload) { w.CreatorLatency = -1 }, "creator-latency", "-1ns", "0s to 1m"},
		{func(w *Workload) { w.Expiration = 0 }, "expiration", "0s", "1ms to 1h"},
		{func(w *Workload) { w.Duration = 100 * time.Hour }, "duration", "100h", "100ms to 1h"},
		{func(w *Workload) { w.Think = -1 }, "think", "-1ns", "0s to 1m"},
	} {
		w := DefaultWorkload()
		c.set(&w)
		err := w.Validate()
		var we *WorkloadError
		if !errors.As(err, &we) || we.Setting != c.setting || we.Value != c.value || !strings.Contains(we.Allowed, c.allowed) {
			t.Errorf("%s %s: err = %#v, want %s %s (%s)", c.setting, c.value, err, c.setting, c.value, c.allowed)
		}
	}
}

// TestZipfInfinityCannotRun: the workload that used to spin forever is
// refused before anything runs.
func TestZipfInfinityCannotRun(t *testing.T) {
	w := testWorkload()
	w.ZipfS = math.Inf(1)
	if rep, err := Run(t.Context(), Options{Workload: w}); err == nil || rep != nil {
		t.Fatalf("Run with zipf +Inf: %v, %v", rep, err)
	}
}

func TestParseStrategies(t *testing.T) {
	got, err := ParseStrategies("region-async, cache-aside,region-async")
	if err != nil || fmt.Sprint(got) != "[cache-aside region-async]" {
		t.Errorf("got %v, %v", got, err)
	}
	if got, _ := ParseStrategies("all"); len(got) != 4 {
		t.Errorf("all: %v", got)
	}
	for _, bad := range []string{"", " , ", "nope", "region,nope"} {
		if _, err := ParseStrategies(bad); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

func TestSingleKey(t *testing.T) {
	w := testWorkload()
	w.Keys = 1
	w.Duration = 600 * time.Millisecond
	rep, err := Run(t.Context(), Options{Workload: w, Strategies: []Strategy{Region}})
	if err != nil {
		t.Fatal(err)
	}
	if r := rep.Results[0]; r.KeysTouched != 1 || r.Requests == 0 {
		t.Errorf("%+v", r)
	}
}

func TestReportJSON(t *testing.T) {
	w := testWorkload()
	rep := &Report{Workload: w, Backend: "memory", Procs: 1, RunID: "abc", Results: []Result{{
		Strategy: Region, Store: "memory", Procs: 1, Requests: 1000, Elapsed: 2 * time.Second, CreatorCalls: 20, KeysTouched: 5,
		CreatorCallsByWindow: []uint64{5, 5, 5, 5},
		P50:                  291 * time.Nanosecond, P90: 800 * time.Nanosecond, P99: 3 * time.Millisecond, P999: 20 * time.Millisecond, Max: 21 * time.Millisecond, Mean: 1234,
	}}}
	var buf bytes.Buffer
	if err := rep.WriteJSON(&buf); err != nil {
		t.Fatal(err)
	}
	var got struct {
		Workload map[string]any `json:"workload"`
		Complete bool           `json:"complete"`
		Results  []map[string]any
	}
	dec := json.NewDecoder(&buf)
	dec.UseNumber()
	if err := dec.Decode(&got); err != nil {
		t.Fatalf("%v\n%s", err, buf.String())
	}
	if got.Workload["expiration_ns"] != json.Number("500000000") || got.Workload["creator_latency_ns"] != json.Number("20000000") || !got.Complete {
		t.Errorf("workload %v, complete %v", got.Workload, got.Complete)
	}
	r := got.Results[0]
	// Latencies are integer nanoseconds: a fast p50 is not rounded to 0.
	for field, want := range map[string]string{
		"p50_ns": "291", "p90_ns": "800", "p99_ns": "3000000", "p999_ns": "20000000", "max_ns": "21000000", "mean_ns": "1234",
		"elapsed_ns": "2000000000", "requests_per_sec": "500", "creator_calls_per_key_window": "1",
	} {
		if r[field] != json.Number(want) {
			t.Errorf("%s = %v, want %s", field, r[field], want)
		}
	}
	if r["label"] != "region.GetOrCreate (memory)" || r["store"] != "memory" || r["partial"] != false {
		t.Errorf("%v", r)
	}
	if fmt.Sprint(r["creator_calls_by_window"]) != "[5 5 5 5]" {
		t.Errorf("creator_calls_by_window = %v", r["creator_calls_by_window"])
	}
}

func TestWriteTable(t *testing.T) {
	rep := &Report{Workload: testWorkload(), Backend: "memcached", Procs: 2}
	stores := map[Strategy]string{CacheAside: "gomemcache", Loadable: "memcache store", Region: "memcached", RegionAsync: "memcached"}
	for _, s := range AllStrategies() {
		rep.Results = append(rep.Results, Result{Strategy: s, Store: stores[s], Procs: 2, Requests: 123456, Elapsed: time.Second, CreatorCalls: 1234, KeysTouched: 5})
	}
	rep.Results[0].FirstError = "boom"
	var buf bytes.Buffer
	if err := rep.WriteTable(&buf); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, want := range []string{"x 2 processes", "requests/s", "calls/key/window", "stale served", "p99",
		"cache-aside (gomemcache)", "gocache loadable (memcache store)", "region.GetOrCreate (memcached)", "region.GetOrCreate+async (memcached)",
		"123,456", "1,234", "first error of cache-aside: boom", "expiration 500ms, 2s per strategy"} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
	// Every row of the table is as wide as its header.
	lines := strings.Split(out, "\n")
	for i, l := range lines {
		if strings.HasPrefix(l, "strategy") {
			for _, row := range lines[i+1 : i+5] {
				if len([]rune(row)) != len([]rune(l)) {
					t.Errorf("row %q is not as wide as the header %q", row, l)
				}
			}
		}
	}
	if strings.Contains(out, "INTERRUPTED") || strings.Contains(out, "FAILED") || strings.Contains(out, " *") {
		t.Errorf("a complete run's table says it was cut short:\n%s", out)
	}
}

func TestHistogram(t *testing.T) {
	var h histogram
	for i := 1; i <= 100000; i++ {
		h.record(time.Duration(i) * time.Microsecond)
	}
	for _, c := range []struct {
		q    float64
		want time.Duration
	}{{0.5, 50 * time.Millisecond}, {0.99, 99 * time.Millisecond}, {1, 100 * time.Millisecond}} {
		got := h.quantile(c.q)
		if diff := float64(got-c.want) / float64(c.want); diff < -0.02 || diff > 0.02 {
			t.Errorf("quantile(%g) = %s, want %s within 2%%", c.q, got, c.want)
		}
	}
	if h.max != uint64(100*time.Millisecond) {
		t.Errorf("max %d", h.max)
	}
	// Round trip through the wire form.
	var h2 histogram
	h2.mergeSparse(h.sparse())
	if h2.quantile(0.99) != h.quantile(0.99) || h2.total != h.total {
		t.Error("sparse round trip changed the histogram")
	}
	// Buckets are contiguous and ordered.
	for i := 0; i < numBuckets-1; i++ {
		if bucketHigh(i)+1 != bucketLow(i+1) {
			t.Fatalf("bucket %d ends at %d, bucket %d starts at %d", i, bucketHigh(i), i+1, bucketLow(i+1))
		}
		if bucketOf(bucketLow(i)) != i || bucketOf(bucketHigh(i)) != i {
			t.Fatalf("bucket %d: [%d, %d] maps to %d, %d", i, bucketLow(i), bucketHigh(i), bucketOf(bucketLow(i)), bucketOf(bucketHigh(i)))
		}
	}
	var empty histogram
	if empty.quantile(0.5) != 0 || empty.mean() != 0 {
		t.Error("empty histogram")
	}
}

func TestFormatLatency(t *testing.T) {
	for d, want := range map[time.Duration]string{
		250: "250ns", 1500: "1.50µs", 25 * time.Millisecond: "25.0ms", 1234 * time.Millisecond: "1.23s", 150 * time.Microsecond: "150µs",
	} {
		if got := FormatLatency(d); got != want {
			t.Errorf("FormatLatency(%d) = %q, want %q", d, got, want)
		}
	}
}

// TestBaselinesOnTheSharedStore: with a memcached or Redis backend, the
// cache-aside and loadable strategies run on the same servers as the
// region (a raw client and eko/gocache's store over the backend's own
// client), and the rows say so.
func TestBaselinesOnTheSharedStore(t *testing.T) {
	memcached := strings.Join(testservers.Memcached(t), ",")
	redisAddr := testservers.Redis(t)
	for _, c := range []struct {
		conf                map[string]any
		aside, load, region string
	}{
		{map[string]any{"backend": "memcached", "arguments.url": memcached}, "gomemcache", "memcache store", "memcached"},
		{map[string]any{"backend": "gocache.memcache", "arguments.url": memcached}, "gomemcache", "memcache store", "gocache.memcache"},
		{map[string]any{"backend": "gocache.redis", "arguments.addr": redisAddr}, "go-redis", "redis store", "gocache.redis"},
		{map[string]any{"backend": "memory_serialized"}, "go-cache", "go-cache store", "memory_serialized"},
	} {
		t.Run(c.region, func(t *testing.T) {
			w := testWorkload()
			w.Duration = 1500 * time.Millisecond
			w.Expiration = time.Second // memcached's whole seconds, for the loadable store
			w.Goroutines = 20
			rep, err := Run(t.Context(), Options{Workload: w, Strategies: []Strategy{CacheAside, Loadable, Region}, Backend: Backend{Conf: c.conf}})
			if err != nil {
				t.Fatal(err)
			}
			var table bytes.Buffer
			_ = rep.WriteTable(&table)
			t.Logf("\n%s", table.String())
			want := map[Strategy]string{CacheAside: c.aside, Loadable: c.load, Region: c.region}
			for _, r := range rep.Results {
				if r.Store != want[r.Strategy] || r.Errors != 0 || r.Requests == 0 {
					t.Errorf("%s: store %q (want %q), %d requests, %d errors (%s)", r.Strategy, r.Store, want[r.Strategy], r.Requests, r.Errors, r.FirstError)
				}
			}
			aside := resultOf(t, rep, CacheAside).CallsPerKeyWindow(w)
			if region := resultOf(t, rep, Region).CallsPerKeyWindow(w); aside < 2*region {
				t.Errorf("cache-aside %.2f creator calls per key per window, region %.2f: want a stampede", aside, region)
			}
			if load := resultOf(t, rep, Loadable).CallsPerKeyWindow(w); load > 2.6 {
				t.Errorf("loadable: %.2f creator calls per key per window, want one load per key at a time", load)
			}
		})
	}
}

// TestSharedStoreCleansUp: the baselines' keys on the servers are deleted
// after the run.
func TestSharedStoreCleansUp(t *testing.T) {
	servers := testservers.Memcached(t)
	w := testWorkload()
	w.Duration = 500 * time.Millisecond
	rep, err := Run(t.Context(), Options{Workload: w, Strategies: []Strategy{CacheAside}, Backend: Backend{Conf: map[string]any{"backend": "memcached", "arguments.url": strings.Join(servers, ",")}}})
	if err != nil {
		t.Fatal(err)
	}
	sh, err := openShared(Backend{Conf: map[string]any{"backend": "memcached", "arguments.url": strings.Join(servers, ",")}}, time.Second)
	if err != nil || sh == nil {
		t.Fatalf("openShared: %v, %v", sh, err)
	}
	defer sh.close()
	for k := range w.Keys {
		if _, ok, err := sh.get(t.Context(), keyName(rep.RunID, CacheAside, k)); ok || err != nil {
			t.Errorf("key %d still on the server after the run (%v)", k, err)
		}
	}
}
