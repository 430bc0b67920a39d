package cli

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/dogpile-go/dogpile/internal/testservers"
)

// benchJSON is what the tests read of `dogpile bench --json`.
type benchJSON struct {
	Workload struct {
		Goroutines   int   `json:"goroutines"`
		Keys         int   `json:"keys"`
		ExpirationNS int64 `json:"expiration_ns"`
		DurationNS   int64 `json:"duration_ns"`
	} `json:"workload"`
	Backend     string `json:"backend"`
	Procs       int    `json:"procs"`
	Complete    bool   `json:"complete"`
	Interrupted bool   `json:"interrupted"`
	Failure     *struct {
		Strategy string `json:"strategy"`
		Error    string `json:"error"`
	} `json:"failure"`
	Results []struct {
		Strategy             string   `json:"strategy"`
		Label                string   `json:"label"`
		Store                string   `json:"store"`
		Procs                int      `json:"procs"`
		Partial              bool     `json:"partial"`
		Requests             uint64   `json:"requests"`
		RequestsPerSec       float64  `json:"requests_per_sec"`
		CreatorCalls         uint64   `json:"creator_calls"`
		CreatorCallsByWindow []uint64 `json:"creator_calls_by_window"`
		CallsPerKeyWindow    float64  `json:"creator_calls_per_key_window"`
		StaleServed          uint64   `json:"stale_served"`
		Errors               uint64   `json:"errors"`
		FirstError           string   `json:"first_error"`
		P50NS                int64    `json:"p50_ns"`
		P99NS                int64    `json:"p99_ns"`
		MaxNS                int64    `json:"max_ns"`
	} `json:"results"`
}

func (b benchJSON) calls(t *testing.T, strategy string) float64 {
	t.Helper()
	for _, r := range b.Results {
		if r.Strategy == strategy {
			return r.CallsPerKeyWindow
		}
	}
	t.Fatalf("no result for %s", strategy)
	return 0
}

func parseBench(t *testing.T, out string) benchJSON {
	t.Helper()
	var b benchJSON
	if err := json.Unmarshal([]byte(out), &b); err != nil {
		t.Fatalf("bench --json output does not parse: %v\n%s", err, out)
	}
	return b
}

// TestBinaryBench runs the stampede on the memory backend as a person
// would, with JSON output: the region strategies create each key about once
// per expiry window, plain cache-aside far more often.
func TestBinaryBench(t *testing.T) {
	start := time.Now()
	out, errOut, code := run(t, "", "bench", "--json", "--duration", "2s", "-n", "50", "-k", "5", "--expiration", "500ms")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if took := time.Since(start); took > 15*time.Second {
		t.Errorf("4 strategies of 2s took %s", took)
	}
	if errOut != "" {
		t.Errorf("stderr (not a terminal: no progress bar): %q", errOut)
	}
	b := parseBench(t, out)
	if len(b.Results) != 4 || b.Backend != "memory" || b.Procs != 1 || b.Workload.Goroutines != 50 || b.Workload.ExpirationNS != 500e6 || !b.Complete {
		t.Fatalf("%+v", b)
	}
	for _, r := range b.Results {
		// Latencies are integer nanoseconds: on the memory backend a p50 of
		// a few hundred nanoseconds is not rounded to 0.
		if r.Requests == 0 || r.RequestsPerSec <= 0 || r.Errors != 0 || r.P50NS <= 0 || r.MaxNS < r.P50NS || r.Partial || len(r.CreatorCallsByWindow) < 4 {
			t.Errorf("%s: %+v", r.Strategy, r)
		}
	}
	if !strings.Contains(out, `"p50_ns": `) || strings.Contains(out, `"latency_ms"`) {
		t.Errorf("JSON lacks p50_ns:\n%s", out)
	}
	for _, s := range []string{"region", "region-async"} {
		if c := b.calls(t, s); c < 0.6 || c > 1.5 {
			t.Errorf("%s: %.2f creator calls per key per window, want about 1", s, c)
		}
	}
	aside := b.calls(t, "cache-aside")
	if aside < 3 || aside < 3*b.calls(t, "region") {
		t.Errorf("cache-aside: %.2f creator calls per key per window, want far more than region's %.2f", aside, b.calls(t, "region"))
	}
}

func TestBinaryHelp(t *testing.T) {
	out, _, code := run(t, "", "--help")
	if code != 0 || !strings.Contains(out, "dogpile bench") || !strings.Contains(out, "Exit status") {
		t.Errorf("exit %d:\n%s", code, out)
	}
	out, _, code = run(t, "", "bench", "--help")
	for _, flag := range []string{"--duration", "--goroutines", "--keys", "--creator-latency", "--expiration", "--procs", "--json", "--config", "--section"} {
		if !strings.Contains(out, flag) {
			t.Errorf("bench --help lacks %s", flag)
		}
	}
	if code != 0 {
		t.Errorf("bench --help: exit %d", code)
	}
	out, _, code = run(t, "", "backends")
	for _, want := range []string{"memory  (in this process)", "memcached  (shared", "openstack.kvs.Memcached", "gocache.ristretto", "proxies for the wrap key: logging"} {
		if code != 0 || !strings.Contains(out, want) {
			t.Errorf("backends: exit %d, output lacks %q", code, want)
		}
	}
	// A section may wrap the backend in a registered proxy.
	cfg := writeFile(t, "wrap.ini", "[cache]\nbackend = memory\nwrap = logging\n")
	if _, errOut, code := run(t, "", "-c", cfg, "set", "k", "1"); code != 0 {
		t.Errorf("wrap = logging: exit %d: %s", code, errOut)
	}
}

// TestBinaryErrors: each error a person can act on is one line on stderr
// and exit status 2.
func TestBinaryErrors(t *testing.T) {
	cfg := writeFile(t, "x.ini", "[cache]\nbackend = memcached\narguments.url = 127.0.0.1:1\n[typo]\nbackend = memcache\n")
	dead := testservers.ClosedAddr(t)
	cases := []struct {
		name string
		args []string
		want []string
	}{
		{"missing config file", []string{"--config", "/no/such/dogpile.ini", "get", "k"}, []string{"config file /no/such/dogpile.ini not found"}},
		{"unknown section", []string{"--config", cfg, "--section", "prod", "get", "k"}, []string{"has no section [prod] (sections: [cache], [typo])"}},
		{"unknown backend", []string{"--config", cfg, "--section", "typo", "bench"}, []string{`unknown backend "memcache"`, "registered: ", `did you mean "memcached"?`, "memcached", "gocache.redis", "memory"}},
		{"unreachable memcached", []string{"--backend", "memcached", "--arg", "url=" + dead, "get", "k"}, []string{"cannot reach the memcached server at " + dead, "(socket_timeout 3s)", "connection refused"}},
		{"unreachable memcached in bench", []string{"--backend", "memcached", "--arg", "url=" + dead, "bench", "--duration", "1s"}, []string{"cannot reach the memcached server at " + dead}},
		{"unreachable redis", []string{"--backend", "gocache.redis", "--arg", "addr=" + dead, "--arg", "socket_timeout=1s", "set", "k", "1"}, []string{"cannot reach the Redis server at " + dead, "(socket_timeout 1s)"}},
		{"bad usage", []string{"get"}, []string{"usage: dogpile get KEY"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out, errOut, code := run(t, "", c.args...)
			if code != 2 {
				t.Errorf("exit %d, want 2", code)
			}
			line := oneErrorLine(t, errOut)
			for _, w := range c.want {
				if !strings.Contains(line, w) {
					t.Errorf("stderr %q lacks %q", line, w)
				}
			}
			if out != "" {
				t.Errorf("stdout %q", out)
			}
		})
	}
}

func TestBinaryMemoryIsPerProcess(t *testing.T) {
	if _, _, code := run(t, "", "set", "k", "1"); code != 0 {
		t.Fatal("set failed")
	}
	_, errOut, code := run(t, "", "get", "k")
	if code != 1 || !strings.Contains(errOut, "keeps values inside this dogpile process only") {
		t.Errorf("exit %d, stderr %q", code, errOut)
	}
}

// memcachedConfig writes an INI file for the test memcached servers.
func memcachedConfig(t *testing.T) string {
	t.Helper()
	servers := strings.Join(testservers.Memcached(t), ",")
	return writeFile(t, "memcached.ini", `[cache]
backend = memcached
expiration_time = 600
arguments.url = `+servers+`
arguments.memcached_expire_time = 3600
arguments.lock_timeout = 2

[oslo]
backend = memcached
backend_argument = url:`+servers+`
`)
}

// TestBinaryMemcachedRoundTrip: set in one process, get in another, across
// the three test servers, in dogpile and oslo.cache config styles.
func TestBinaryMemcachedRoundTrip(t *testing.T) {
	cfg := memcachedConfig(t)
	for _, section := range []string{"cache", "oslo"} {
		key := testservers.UniqueKey(t, "user")
		if _, errOut, code := run(t, "", "-c", cfg, "-s", section, "set", key, `{"name":"Ada","langs":["go","python"],"n":42}`); code != 0 {
			t.Fatalf("set: exit %d: %s", code, errOut)
		}
		out, errOut, code := run(t, "", "-c", cfg, "-s", section, "get", key)
		if code != 0 || out != `{"langs":["go","python"],"n":42,"name":"Ada"}`+"\n" {
			t.Fatalf("get: exit %d, %q, %s", code, out, errOut)
		}
		out, _, code = run(t, "", "-c", cfg, "-s", section, "get", "--meta", key)
		var meta valueMeta
		if err := json.Unmarshal([]byte(out), &meta); err != nil || code != 0 || meta.Backend != "memcached" {
			t.Fatalf("get --meta: exit %d, %q, %v", code, out, err)
		}
		if section == "cache" && meta.ExpiresAt == "" {
			t.Errorf("get --meta: no expires_at with expiration_time 600: %q", out)
		}
		if _, errOut, code := run(t, "", "-c", cfg, "-s", section, "delete", key); code != 0 {
			t.Fatalf("delete: exit %d: %s", code, errOut)
		}
		if _, errOut, code := run(t, "", "-c", cfg, "-s", section, "get", key); code != 1 || !strings.Contains(errOut, "not found") {
			t.Fatalf("get after delete: exit %d: %s", code, errOut)
		}
	}
}

// TestBinaryBenchProcsMemcached: the region strategies in two processes of
// the command on memcached still create each key about once per window in
// total; the loadable baseline runs on the same servers.
func TestBinaryBenchProcsMemcached(t *testing.T) {
	cfg := memcachedConfig(t)
	out, errOut, code := run(t, "", "-c", cfg, "bench", "--json", "--procs", "2", "--duration", "2s",
		"-n", "20", "-k", "4", "--expiration", "500ms", "--strategies", "region,loadable")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	b := parseBench(t, out)
	if b.Procs != 2 || b.Backend != "memcached" || len(b.Results) != 2 {
		t.Fatalf("%+v", b)
	}
	for _, r := range b.Results {
		if r.Procs != 2 || r.Requests == 0 || r.Errors != 0 {
			t.Errorf("%s: %+v", r.Strategy, r)
		}
	}
	if c := b.calls(t, "region"); c < 0.6 || c > 1.5 {
		t.Errorf("region in 2 processes: %.2f creator calls per key per window, want about 1", c)
	}
	// The loadable cache runs on the same memcached servers: one load per
	// key per process at a time, so between one and two per window.
	if c := b.calls(t, "loadable"); c < 0.6 || c > 2.6 {
		t.Errorf("loadable in 2 processes on memcached: %.2f creator calls per key per window, want 1 to 2", c)
	}
	for _, r := range b.Results {
		want := map[string]string{"region": "region.GetOrCreate (memcached)", "loadable": "gocache loadable (memcache store)"}[r.Strategy]
		if r.Label != want {
			t.Errorf("%s: label %q, want %q", r.Strategy, r.Label, want)
		}
	}
}

// TestBinaryBenchProcsKeystoneConf: a keystone.conf's [cache] section
// configures every process's regions as oslocache does (each worker reads
// the file), --arg over it included.
func TestBinaryBenchProcsKeystoneConf(t *testing.T) {
	servers := strings.Join(testservers.Memcached(t), ",")
	conf := writeFile(t, "keystone.conf", "[cache]\nenabled = true\nbackend = dogpile.cache.pymemcache\nmemcache_servers = "+servers+"\n")
	out, errOut, code := run(t, "", "-c", conf, "-a", "memcached_expire_time=3600", "bench", "--json", "--procs", "2", "--duration", "2s",
		"-n", "20", "-k", "4", "--expiration", "500ms", "--strategies", "region,cache-aside")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	b := parseBench(t, out)
	if b.Procs != 2 || b.Backend != "dogpile.cache.pymemcache" || len(b.Results) != 2 {
		t.Fatalf("%+v", b)
	}
	for _, r := range b.Results {
		if r.Procs != 2 || r.Requests == 0 || r.Errors != 0 {
			t.Errorf("%s: %+v", r.Strategy, r)
		}
	}
	// oslo.cache gives the memcached backends no distributed lock (as in
	// Python): each process's region locks in the process.
	if c := b.calls(t, "region"); c < 0.6 || c > 2.6 {
		t.Errorf("region in 2 processes: %.2f creator calls per key per window, want 1 to 2", c)
	}
	// A bad argument over the file fails in every process, with its name.
	_, errOut, code = run(t, "", "-c", conf, "-a", "lokc_timeout=1", "bench", "--procs", "2", "--duration", "1s")
	if code != ExitError || !strings.Contains(errOut, "lokc_timeout") {
		t.Errorf("bad --arg: exit %d: %s", code, errOut)
	}
}

func TestBinaryBenchProcsMemoryNote(t *testing.T) {
	out, errOut, code := run(t, "", "bench", "--json", "--procs", "2", "--duration", "1s", "-n", "10", "--strategies", "region")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if !strings.Contains(errOut, "note: backend memory keeps values in each process") {
		t.Errorf("stderr %q", errOut)
	}
	if b := parseBench(t, out); b.Procs != 2 || b.Results[0].Procs != 2 {
		t.Errorf("%+v", b)
	}
}

func TestBinaryRedisRoundTrip(t *testing.T) {
	addr := testservers.Redis(t)
	cfg := writeFile(t, "redis.ini", "[cache]\nbackend = gocache.redis\nexpiration_time = 600\narguments.addr = "+addr+"\narguments.expiration = 3600\n")
	key := testservers.UniqueKey(t, "user")
	if _, errOut, code := run(t, "", "-c", cfg, "set", key, `[1, "two", 3.5]`); code != 0 {
		t.Fatalf("set: exit %d: %s", code, errOut)
	}
	if out, errOut, code := run(t, "", "-c", cfg, "get", key); code != 0 || out != `[1,"two",3.5]`+"\n" {
		t.Fatalf("get: exit %d, %q, %s", code, out, errOut)
	}
	if out, _, code := run(t, "", "-c", cfg, "lock", key); code != 0 || !strings.Contains(out, "Redis lock key") {
		t.Errorf("lock: exit %d, %q", code, out)
	}
	if _, _, code := run(t, "", "-c", cfg, "delete", key); code != 0 {
		t.Fatal("delete failed")
	}
	if _, _, code := run(t, "", "-c", cfg, "get", key); code != 1 {
		t.Errorf("get after delete: exit %d", code)
	}
}
