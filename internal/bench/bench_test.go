package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	_ "github.com/dogpile-go/dogpile/backends/memcache"
	_ "github.com/dogpile-go/dogpile/backends/memory"
	"github.com/dogpile-go/dogpile/internal/testservers"
)

// workerEnv makes the test binary a bench worker process (see
// workerCommand).
const workerEnv = "DOGPILE_BENCH_TEST_WORKER"

func TestMain(m *testing.M) {
	if os.Getenv(workerEnv) == "1" {
		if err := RunWorker(context.Background(), os.Stdin, os.Stdout); err != nil {
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

func TestRunCancelled(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	w := testWorkload()
	w.Duration = time.Minute
	start := time.Now()
	_, err := Run(ctx, Options{Workload: w, Strategies: []Strategy{RegionAsync}})
	if err != context.DeadlineExceeded {
		t.Fatalf("err = %v, want context.DeadlineExceeded", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("took %s to stop", d)
	}
}

func TestWorkerReportsSetupErrors(t *testing.T) {
	spec := workerSpec{Workload: wireWorkload(testWorkload()), Strategy: Region, Conf: map[string]any{"backend": "nope"}, RunID: "x"}
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
	for name, f := range map[string]func(*Workload){
		"goroutines": func(w *Workload) { w.Goroutines = 0 },
		"keys":       func(w *Workload) { w.Keys = 0 },
		"zipf":       func(w *Workload) { w.ZipfS = 1 },
		"creator":    func(w *Workload) { w.CreatorLatency = -1 },
		"expiration": func(w *Workload) { w.Expiration = 0 },
		"duration":   func(w *Workload) { w.Duration = 0 },
		"think":      func(w *Workload) { w.Think = -1 },
	} {
		w := DefaultWorkload()
		f(&w)
		if err := w.Validate(); err == nil {
			t.Errorf("%s: no error", name)
		}
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
		Strategy: Region, Procs: 1, Requests: 1000, Elapsed: 2 * time.Second, CreatorCalls: 20, KeysTouched: 5,
		P50: 1500 * time.Nanosecond, P99: 3 * time.Millisecond, Max: 21 * time.Millisecond,
	}}}
	var buf bytes.Buffer
	if err := rep.WriteJSON(&buf); err != nil {
		t.Fatal(err)
	}
	var got struct {
		Workload struct {
			Goroutines   int     `json:"goroutines"`
			ExpirationMS float64 `json:"expiration_ms"`
		} `json:"workload"`
		Results []struct {
			Strategy          string  `json:"strategy"`
			RequestsPerSec    float64 `json:"requests_per_sec"`
			CallsPerKeyWindow float64 `json:"creator_calls_per_key_window"`
			LatencyMS         struct {
				P50, P99, Max float64
			} `json:"latency_ms"`
		} `json:"results"`
	}
	if err := json.Unmarshal(buf.Bytes(), &got); err != nil {
		t.Fatalf("%v\n%s", err, buf.String())
	}
	r := got.Results[0]
	if got.Workload.Goroutines != 40 || got.Workload.ExpirationMS != 500 || r.Strategy != "region" ||
		r.RequestsPerSec != 500 || r.CallsPerKeyWindow != 1 || r.LatencyMS.P50 != 0.002 || r.LatencyMS.Max != 21 {
		t.Errorf("%+v\n%s", got, buf.String())
	}
}

func TestWriteTable(t *testing.T) {
	rep := &Report{Workload: testWorkload(), Backend: "memory", Procs: 2}
	for _, s := range AllStrategies() {
		rep.Results = append(rep.Results, Result{Strategy: s, Procs: 2, Requests: 123456, Elapsed: time.Second, CreatorCalls: 1234, KeysTouched: 5})
	}
	rep.Results[0].FirstError = "boom"
	var buf bytes.Buffer
	if err := rep.WriteTable(&buf); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, want := range []string{"x 2 processes", "requests/s", "calls/key/window", "stale served", "p99",
		"cache-aside (go-cache)", "region.GetOrCreate+async", "123,456", "1,234", "first error of cache-aside: boom"} {
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
