package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dogpile-go/dogpile/backends/memcache"
	"github.com/dogpile-go/dogpile/internal/testservers"
	"github.com/dogpile-go/dogpile/region"
)

func TestStoreRoundTripMemory(t *testing.T) {
	a, _, _ := app()
	defer a.Close()
	if _, errOut, code := runApp(t, a, "set", "user:42", `{"name": "Ada", "admin": true, "visits": 3, "score": 1.5}`); code != 0 {
		t.Fatalf("set: exit %d: %s", code, errOut)
	}
	out, errOut, code := runApp(t, a, "get", "user:42")
	if code != 0 {
		t.Fatalf("get: exit %d: %s", code, errOut)
	}
	if out != `{"admin":true,"name":"Ada","score":1.5,"visits":3}`+"\n" {
		t.Errorf("get printed %q", out)
	}
	out, _, code = runApp(t, a, "get", "--meta", "user:42")
	var meta valueMeta
	if err := json.Unmarshal([]byte(out), &meta); err != nil || code != 0 {
		t.Fatalf("get --meta: exit %d, %q: %v", code, out, err)
	}
	if meta.Key != "user:42" || meta.Backend != "memory" || meta.FormatVersion != region.ValueVersion || meta.AgeSeconds < 0 || meta.AgeSeconds > 5 {
		t.Errorf("get --meta: %+v", meta)
	}
	if _, err := time.Parse(time.RFC3339Nano, meta.CreatedAt); err != nil {
		t.Errorf("created_at %q: %v", meta.CreatedAt, err)
	}
	if _, errOut, code := runApp(t, a, "delete", "user:42"); code != 0 {
		t.Fatalf("delete: exit %d: %s", code, errOut)
	}
	out, errOut, code = runApp(t, a, "get", "user:42")
	if code != ExitNegative || out != "" || !strings.Contains(errOut, `key "user:42" not found`) {
		t.Errorf("get after delete: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	// Deleting an absent key is fine.
	if _, _, code := runApp(t, a, "delete", "user:42"); code != 0 {
		t.Errorf("delete of an absent key: exit %d", code)
	}
	// Values from standard input.
	a.Stdin = strings.NewReader(`[1, 2, "three"]`)
	if _, errOut, code := runApp(t, a, "set", "list", "-"); code != 0 {
		t.Fatalf("set -: exit %d: %s", code, errOut)
	}
	if out, _, _ := runApp(t, a, "get", "list"); out != `[1,2,"three"]`+"\n" {
		t.Errorf("get list: %q", out)
	}
}

func TestStoreExpiration(t *testing.T) {
	a, _, _ := app()
	defer a.Close()
	exp := []string{"--backend", "memory", "--arg", "expiration_time=2h", "--arg", "cleanup_interval=1h"}
	cfg := writeFile(t, "short.ini", "[cache]\nbackend = memory\nexpiration_time = 0.2\n")
	if _, errOut, code := runApp(t, a, "-c", cfg, "set", "k", `"v"`); code != 0 {
		t.Fatal(errOut)
	}
	time.Sleep(300 * time.Millisecond)
	if _, _, code := runApp(t, a, "-c", cfg, "get", "k"); code != ExitNegative {
		t.Errorf("expired value: exit %d, want 1", code)
	}
	if out, _, code := runApp(t, a, "-c", cfg, "get", "--ignore-expiration", "k"); code != 0 || out != "\"v\"\n" {
		t.Errorf("get --ignore-expiration: exit %d, %q", code, out)
	}
	// Another store (other flags) is another region.
	if _, _, code := runApp(t, a, append(exp, "get", "k")...); code != ExitNegative {
		t.Errorf("other store: exit %d", code)
	}
}

func TestLockInProcess(t *testing.T) {
	a, out, errOut := app()
	defer a.Close()
	code := a.Run(t.Context(), []string{"lock", "report"})
	if code != 0 || !strings.Contains(out.String(), `acquired lock for key "report" (in-process lock`) ||
		!strings.Contains(out.String(), `released lock for key "report"`) {
		t.Fatalf("lock: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	out.Reset()
	done := make(chan int)
	go func() { done <- a.Run(context.Background(), []string{"lock", "--hold", "1500ms", "report"}) }()
	waitFor(t, func() bool { return strings.Contains(out.String(), "holding it for 1.5s") })
	if code := a.Run(t.Context(), []string{"lock", "report"}); code != ExitNegative {
		t.Errorf("lock while held: exit %d, want 1", code)
	}
	if !strings.Contains(errOut.String(), `dogpile: lock for key "report" is held by someone else`) {
		t.Errorf("stderr %q", errOut)
	}
	if code := a.Run(t.Context(), []string{"lock", "--check", "report"}); code != ExitNegative || !strings.Contains(out.String(), `key "report": locked`) {
		t.Errorf("lock --check while held: exit %d, stdout %q", code, out)
	}
	if code := a.Run(t.Context(), []string{"lock", "--wait", "--timeout", "100ms", "report"}); code != ExitNegative ||
		!strings.Contains(errOut.String(), "still held by someone else after 100ms") {
		t.Errorf("lock --wait with a short timeout: exit %d, stderr %q", code, errOut)
	}
	if code := a.Run(t.Context(), []string{"lock", "--wait", "--timeout", "10s", "report"}); code != 0 {
		t.Errorf("lock --wait: exit %d, stderr %q", code, errOut)
	}
	if code := <-done; code != 0 {
		t.Errorf("lock --hold: exit %d", code)
	}
	if code := a.Run(t.Context(), []string{"lock", "--check", "report"}); code != 0 || !strings.Contains(out.String(), `key "report": not locked`) {
		t.Errorf("lock --check after release: exit %d, stdout %q", code, out)
	}
}

func TestLockInterrupted(t *testing.T) {
	a, out, _ := app()
	defer a.Close()
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan int)
	go func() { done <- a.Run(ctx, []string{"lock", "--hold", "1m", "k"}) }()
	waitFor(t, func() bool { return strings.Contains(out.String(), "holding it") })
	cancel()
	if code := <-done; code != ExitInterrupted || !strings.Contains(out.String(), "released lock") {
		t.Errorf("exit %d, stdout %q", code, out)
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("timed out waiting")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestParseJSONValue(t *testing.T) {
	for in, want := range map[string]any{
		`"text"`:                 "text",
		`12`:                     int64(12),
		`-3`:                     int64(-3),
		`1.5`:                    1.5,
		`1e3`:                    1000.0,
		`0.1`:                    0.1,
		`1e300`:                  1e300,
		`-0.0`:                   math.Copysign(0, -1),
		`9223372036854775807`:    int64(math.MaxInt64),
		`-9223372036854775808`:   int64(math.MinInt64),
		`9223372036854775808`:    uint64(1 << 63),
		`18446744073709551615`:   uint64(math.MaxUint64),
		`true`:                   true,
		`null`:                   nil,
		` {"a": [1, 2.5]} `:      map[string]any{"a": []any{int64(1), 2.5}},
		`0.30000000000000004`:    0.30000000000000004,
		`5e-324`:                 5e-324,
		`1.7976931348623157e308`: math.MaxFloat64,
	} {
		got, err := parseJSONValue(in)
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("parseJSONValue(%s) = %#v, %v; want %#v", in, got, err, want)
		}
	}
	for _, bad := range []string{``, `text`, `{"a": 1`, `1 2`, `"a" "b"`} {
		if _, err := parseJSONValue(bad); err == nil {
			t.Errorf("parseJSONValue(%q): no error", bad)
		}
	}
	// Numbers that would read back as another number are refused, naming
	// the number.
	for in, why := range map[string]string{
		`1e400`:                                "beyond the range of a 64-bit float",
		`-1e400`:                               "beyond the range",
		`1e-400`:                               "too small for a 64-bit float",
		`18446744073709551616`:                 "integers are kept from -9223372036854775808 to 18446744073709551615",
		`-9223372036854775809`:                 "integers are kept from",
		`123456789012345678901234567890`:       "integers are kept from",
		`0.1000000000000000055511151231257827`: "it would read back as 0.1",
		`9007199254740993.0`:                   "it would read back as 9007199254740992.0",
		`[1, {"x": 1e999}]`:                    "number 1e999 cannot be stored exactly",
	} {
		_, err := parseJSONValue(in)
		var ne *numberError
		if !errors.As(err, &ne) || !strings.Contains(err.Error(), why) {
			t.Errorf("parseJSONValue(%s): err = %v, want a numberError saying %q", in, err, why)
		}
	}
}

// TestNumbersRoundTrip: every number set accepts reads back from get
// exactly, and a float stays a float.
func TestNumbersRoundTrip(t *testing.T) {
	a, _, _ := app()
	defer a.Close()
	for in, want := range map[string]string{
		`9223372036854775808`:  `9223372036854775808`,
		`18446744073709551615`: `18446744073709551615`,
		`-9223372036854775808`: `-9223372036854775808`,
		`1.0`:                  `1.0`,
		`0.1`:                  `0.1`,
		`1e300`:                `1e+300`,
		`1e-7`:                 `1e-7`,
		`123456.789`:           `123456.789`,
		`[1, 1.5, -2.0]`:       `[1,1.5,-2.0]`,
	} {
		if _, errOut, code := runApp(t, a, "set", "n", in); code != 0 {
			t.Fatalf("set %s: exit %d: %s", in, code, errOut)
		}
		out, errOut, code := runApp(t, a, "get", "n")
		if code != 0 || out != want+"\n" {
			t.Errorf("set %s, get: exit %d, %q (stderr %q); want %s", in, code, out, errOut, want)
		}
		// What get prints, set takes back to the same value.
		if _, _, code := runApp(t, a, "set", "m", strings.TrimSpace(out)); code != 0 {
			t.Errorf("set of get's output %s: exit %d", out, code)
		}
		if again, _, _ := runApp(t, a, "get", "m"); again != out {
			t.Errorf("round trip of %s: %q, then %q", in, out, again)
		}
	}
}

func TestJSONValue(t *testing.T) {
	for _, c := range []struct {
		in    any
		want  string
		notes int
	}{
		{math.Inf(1), `"+Inf"`, 1},
		{math.NaN(), `"NaN"`, 1},
		{map[string]any{"a": math.Inf(-1), "b": 2.0}, `{"a":"-Inf","b":2.0}`, 1},
		{map[any]any{1: "x", "y": float32(0.1)}, `{"1":"x","y":0.1}`, 1},
		{uint64(math.MaxUint64), `18446744073709551615`, 0},
		{[]byte("hi"), `"aGk="`, 0},
		{time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), `"2026-01-02T03:04:05Z"`, 0},
		{make(chan int), `"`, 1},
	} {
		var buf bytes.Buffer
		notes, err := writeJSON(&buf, c.in)
		if err != nil || !json.Valid(buf.Bytes()) || !strings.HasPrefix(buf.String(), c.want) || len(notes) != c.notes {
			t.Errorf("writeJSON(%#v) = %q, notes %q, %v; want %s with %d notes", c.in, buf.String(), notes, err, c.want, c.notes)
		}
	}
}

func TestBackendsCommand(t *testing.T) {
	region.RegisterBackend("test.plugin", func(region.Arguments) (region.Backend, error) { return nil, fmt.Errorf("no") })
	a, _, _ := app()
	out, _, code := runApp(t, a, "backends")
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	for _, name := range region.RegisteredBackends() {
		if !strings.Contains(out, "\n"+name+"  (") && !strings.HasPrefix(out, name+"  (") {
			t.Errorf("backends does not list %s", name)
		}
	}
	for _, want := range []string{
		"memcached  (shared: on the server, across processes)",
		"memcached_expire_time", "default 0 (none)", "url", "required",
		"test.plugin  (plugin)\n    plugin backend\n    (no documented arguments)",
		"memory_serialized  (in this process)",
		"dogpile.cache.pylibmc  (refused)\n    refused with an error: ",
		"dogpile.cache.bmemcached  (refused)\n    refused with an error: ",
		"no arguments",
		"gocache.redis", "addr", "default 127.0.0.1:6379",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("backends output lacks %q:\n%s", want, out)
		}
	}
	out, _, code = runApp(t, a, "backends", "--json")
	var list struct {
		Backends []backendDoc `json:"backends"`
		Proxies  []string     `json:"proxies"`
	}
	if err := json.Unmarshal([]byte(out), &list); err != nil || code != 0 {
		t.Fatalf("backends --json: exit %d, %v", code, err)
	}
	if len(list.Backends) != len(region.RegisteredBackends()) || len(list.Proxies) != len(region.RegisteredProxies()) {
		t.Errorf("backends --json lists %d backends and %d proxies; %d and %d registered",
			len(list.Backends), len(list.Proxies), len(region.RegisteredBackends()), len(region.RegisteredProxies()))
	}
}

// TestBackendDocsCoverModuleBackends keeps the argument table in step with
// the backends: every backend this module registers is documented, and the
// table names no backend that is not registered.
func TestBackendDocsCoverModuleBackends(t *testing.T) {
	registered := region.RegisteredBackends()
	for _, name := range registered {
		if name == "test.plugin" {
			continue
		}
		if _, ok := docFor(name); !ok {
			t.Errorf("backend %s is registered but not documented in backendDocs", name)
		}
	}
	for _, d := range backendDocs {
		if !slices.Contains(registered, d.Name) {
			t.Errorf("backendDocs documents %s, which is not registered", d.Name)
		}
	}
}

// TestBackendDocsCoverArguments reads the backend packages' sources for
// the argument names they read, and checks that each is documented for a
// backend of that package, so `dogpile backends` follows new arguments.
func TestBackendDocsCoverArguments(t *testing.T) {
	read := regexp.MustCompile(`args\.(?:String|Int|Bool|Duration|Strings|Float|Has)\("([a-z_]+)"|args\["([a-z_]+)"\]|(?:positiveInt|keySet)\(args, "([a-z_]+)"`)
	for dir, pkg := range map[string]string{"memory": memoryPkg, "memcache": memcachePkg, "gocache": gocachePkg, "redis": redisPkg} {
		documented := map[string]bool{}
		for _, d := range backendDocs {
			if d.Package != pkg {
				continue
			}
			for _, a := range d.Args {
				for _, name := range strings.Split(a.Name, ", ") {
					documented[name] = true
				}
			}
		}
		files, _ := filepath.Glob(filepath.Join("../../../../backends", dir, "*.go"))
		if len(files) == 0 {
			t.Fatalf("no sources for backends/%s", dir)
		}
		for _, f := range files {
			if strings.HasSuffix(f, "_test.go") {
				continue
			}
			src, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range read.FindAllStringSubmatch(string(src), -1) {
				name := m[1] + m[2] + m[3]
				if !documented[name] {
					t.Errorf("backends/%s reads argument %q, which backendDocs does not document", dir, name)
				}
			}
		}
	}
}

func TestLoadStore(t *testing.T) {
	ini := writeFile(t, "dogpile.ini", `
; comment
[DEFAULT]
expiration_time = 30

[cache]
backend = memcached
arguments.url = 127.0.0.1:11211, 127.0.0.1:11212
Arguments.Socket_Timeout = 1.5
arguments.password = a#b;c

[oslo]
backend = memcached
expiration_time = 600
backend_argument = url:127.0.0.1:11211
backend_argument = distributed_lock:false

[app:main]
cache.backend = memory
cache.expiration_time = 10
other.key = x

[empty]
enabled = true
`)
	cases := []struct {
		name string
		f    storeFlags
		want map[string]any
		err  string
	}{
		{"default section", storeFlags{config: ini}, map[string]any{
			"backend": "memcached", "expiration_time": "30", "arguments.url": "127.0.0.1:11211, 127.0.0.1:11212",
			"arguments.socket_timeout": "1.5", "arguments.password": "a#b;c"}, ""},
		{"oslo backend_argument", storeFlags{config: ini, section: "oslo"}, map[string]any{
			"backend": "memcached", "expiration_time": "600", "arguments.url": "127.0.0.1:11211",
			"arguments.distributed_lock": "false", "backend_argument": nil}, ""},
		{"prefix", storeFlags{config: ini, section: "app:main", prefix: "cache."}, map[string]any{
			"backend": "memory", "expiration_time": "10", "key": nil}, ""},
		{"flags over the file", storeFlags{config: ini, backend: "gocache.memcache", args: []string{"url=127.0.0.1:1", "arguments.expiration=5"}},
			map[string]any{"backend": "gocache.memcache", "arguments.url": "127.0.0.1:1", "arguments.expiration": "5"}, ""},
		{"flags only", storeFlags{backend: "null"}, map[string]any{"backend": "null"}, ""},
		{"nothing", storeFlags{}, map[string]any{"backend": "memory"}, ""},
		{"missing file", storeFlags{config: filepath.Join(t.TempDir(), "nope.ini")}, nil, "nope.ini not found"},
		{"unknown section", storeFlags{config: ini, section: "nope"}, nil, "has no section [nope] (sections: [cache], [oslo], [app:main], [empty])"},
		{"DEFAULT is not a store", storeFlags{config: ini, section: "DEFAULT"}, nil, "has no section [DEFAULT]"},
		{"no backend", storeFlags{config: ini, section: "empty"}, nil, `section [empty] in ` + ini + ` has no "backend" key`},
		{"section without file", storeFlags{section: "oslo"}, nil, "--section oslo needs --config FILE"},
		{"default section without file", storeFlags{section: "cache"}, map[string]any{"backend": "memory"}, ""},
		{"bad --arg", storeFlags{args: []string{"url"}}, nil, `--arg "url": want NAME=VALUE`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			sc, err := loadStore(c.f)
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("err = %v, want %q", err, c.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for k, v := range c.want {
				got, ok := sc.conf[k]
				if v == nil {
					if ok {
						t.Errorf("%s = %v, want it absent", k, got)
					}
					continue
				}
				if got != v {
					t.Errorf("%s = %#v, want %#v (conf %v)", k, got, v, sc.conf)
				}
			}
		})
	}
	bad := writeFile(t, "bad.ini", "[cache]\nbackend_argument = nocolon\nbackend = memory\n")
	if _, err := loadStore(storeFlags{config: bad}); err == nil || !strings.Contains(err.Error(), "want name:value") {
		t.Errorf("bad backend_argument: %v", err)
	}
	// A value continued on indented lines, as Python's configparser and
	// oslo.config read it: both servers, not a key named after the second.
	multi := writeFile(t, "multi.ini", "[cache]\nbackend = memcached\narguments.url = 127.0.0.1:1,\n    127.0.0.1:2\narguments.dead_retry = 1\narguments.dead_retry = 2\n")
	sc, err := loadStore(storeFlags{config: multi})
	if err != nil {
		t.Fatal(err)
	}
	if urls, err := region.Arguments(sc.conf).Strings("arguments.url", nil); err != nil || !slices.Equal(urls, []string{"127.0.0.1:1", "127.0.0.1:2"}) {
		t.Errorf("continued url = %q, %v (conf %v)", urls, err, sc.conf)
	}
	if len(sc.conf) != 3 || sc.conf["arguments.dead_retry"] != "2" {
		t.Errorf("conf = %v, want backend, url and the last dead_retry", sc.conf)
	}
	rep, err := checkFile(multi, "")
	if err != nil || len(rep.Sections) != 1 || rep.Sections[0].Arguments["url"] != "127.0.0.1:1, 127.0.0.1:2" {
		t.Errorf("config check of a continued url: %v %+v", err, rep)
	}
	broken := writeFile(t, "broken.ini", "[cache\nbackend = memory\n")
	if _, err := loadStore(storeFlags{config: broken}); err == nil || strings.Contains(err.Error(), "\n") {
		t.Errorf("broken file: %v", err)
	}
}

// TestExamples configures a region from every section of the example
// files (no server needed: the backends connect on first use).
func TestExamples(t *testing.T) {
	files, err := filepath.Glob("../../../../examples/*.ini")
	if err != nil || len(files) < 2 {
		t.Fatalf("examples: %v, %v", files, err)
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var sections []string
		for _, line := range strings.Split(string(data), "\n") {
			if strings.HasPrefix(line, "[") {
				sections = append(sections, strings.Trim(strings.TrimSpace(line), "[]"))
			}
		}
		for _, s := range sections {
			sc, err := loadStore(storeFlags{config: f, section: s})
			if err != nil {
				t.Errorf("%s [%s]: %v", f, s, err)
				continue
			}
			r, err := openRegion(sc, nil)
			if err != nil {
				t.Errorf("%s [%s]: %v", f, s, err)
				continue
			}
			if doc, _ := docFor(sc.backend()); !doc.Shared {
				t.Errorf("%s [%s]: backend %s is not shared", f, s, sc.backend())
			}
			if url, _ := sc.arg("url"); url != nil && !strings.Contains(fmt.Sprint(url), "127.0.0.1:2") {
				t.Errorf("%s [%s]: url %v is not a test-services port", f, s, url)
			}
			r.Close()
		}
	}
}

func TestBenchThroughApp(t *testing.T) {
	a, _, _ := app()
	args := []string{"bench", "--duration", "1s", "-n", "20", "-k", "3", "--expiration", "250ms", "--progress", "always"}
	out, errOut, code := runApp(t, a, args...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	t.Logf("\n%s", out)
	for _, want := range []string{"20 goroutines x 1 process", `backend "memory"`, "cache-aside (go-cache)", "gocache loadable (go-cache store)",
		"region.GetOrCreate (memory)", "region.GetOrCreate+async (memory)", "calls/key/window", "stale served", "p50", "p99", "max"} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q", want)
		}
	}
	// The bar went to stderr, the table alone to stdout.
	if !strings.Contains(errOut, "[1/4]") || !strings.Contains(errOut, "[4/4]") {
		t.Errorf("no progress bar on stderr: %q", errOut)
	}
	if strings.Contains(out, "[1/4]") {
		t.Error("progress bar on stdout")
	}
	out, errOut, code = runApp(t, a, "bench", "--duration", "500ms", "-n", "10", "--strategies", "region", "--json")
	var rep struct {
		Backend string `json:"backend"`
		Results []struct {
			Strategy string `json:"strategy"`
		} `json:"results"`
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil || code != 0 || errOut != "" {
		t.Fatalf("bench --json: exit %d, stderr %q, %v\n%s", code, errOut, err, out)
	}
	if len(rep.Results) != 1 || rep.Results[0].Strategy != "region" || rep.Backend != "memory" {
		t.Errorf("%+v", rep)
	}
}

func TestErrorsThroughApp(t *testing.T) {
	cfg := writeFile(t, "x.ini", "[cache]\nbackend = memory\n[other]\nbackend = nope\n")
	mc := testservers.ClosedAddr(t)
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"-c", "/does/not/exist.ini", "get", "k"}, "config file /does/not/exist.ini not found"},
		{[]string{"-c", cfg, "-s", "nope", "get", "k"}, "has no section [nope] (sections: [cache], [other])"},
		{[]string{"-c", cfg, "-s", "other", "get", "k"}, `unknown backend "nope" (from [other] in ` + cfg + `); registered: `},
		// The region's hint: the closest registered name.
		{[]string{"-b", "memcache", "get", "k"}, `unknown backend "memcache" (from --backend); registered: `},
		{[]string{"-b", "memcache", "get", "k"}, `; did you mean "memcached"?`},
		{[]string{"-b", "memcached", "-a", "url=" + mc, "get", "k"}, "cannot reach the memcached server at " + mc + " (socket_timeout 3s): dial tcp " + mc},
		{[]string{"-b", "memcached", "-a", "url=" + mc, "-a", "socket_timeout=250ms", "set", "k", "1"}, "(socket_timeout 250ms)"},
		{[]string{"-b", "memcached", "-a", "url=" + mc, "bench", "-d", "1s"}, "cannot reach the memcached server at " + mc},
		{[]string{"-b", "memcached", "-a", "url=" + mc, "lock", "k"}, "cannot reach the memcached server at " + mc},
		{[]string{"-b", "gocache.redis", "-a", "addr=" + mc, "get", "k"}, "cannot reach the Redis server at " + mc},
		{[]string{"-b", "memcached", "-a", "lock_timeout=soon", "-a", "url=" + mc, "get", "k"}, `argument lock_timeout = soon: cannot use it as a duration`},
		{[]string{"get"}, "usage: dogpile get KEY"},
		{[]string{"set", "k", "not json"}, "the value is not JSON"},
		{[]string{"bench", "--zipf", "0.5"}, "bench --zipf 0.5: out of range: want a number greater than 1 and at most 100"},
		{[]string{"bench", "--strategies", "fast"}, `unknown strategy "fast"`},
		{[]string{"bench", "--progress", "maybe"}, "want auto, always or never"},
		{[]string{"nope"}, `unknown command "nope"`},
		{[]string{"get", "--nope", "k"}, "unknown flag: --nope"},
	}
	for _, c := range cases {
		t.Run(strings.Join(c.args, " "), func(t *testing.T) {
			a, out, _ := app()
			defer a.Close()
			_, errOut, code := runApp(t, a, c.args...)
			if code != ExitError {
				t.Errorf("exit %d, want 2", code)
			}
			line := oneErrorLine(t, errOut)
			if !strings.Contains(line, c.want) {
				t.Errorf("stderr %q, want %q", line, c.want)
			}
			if out.String() != "" {
				t.Errorf("stdout %q", out)
			}
		})
	}
}

// TestBackendDocsCoverDogpileMemcachedNames: every argument the
// dogpile.cache memcached names accept is documented for that name.
func TestBackendDocsCoverDogpileMemcachedNames(t *testing.T) {
	for name, args := range map[string][]string{
		memcache.NameDogpileMemcached:  memcache.DogpileMemcachedArguments,
		memcache.NameDogpilePymemcache: memcache.DogpilePymemcacheArguments,
		memcache.NameOsloMemcachePool:  memcache.OsloMemcachePoolArguments,
	} {
		d, ok := docFor(name)
		if !ok {
			t.Fatalf("%s is not documented", name)
		}
		documented := map[string]bool{}
		for _, a := range d.Args {
			for _, n := range strings.Split(a.Name, ", ") {
				documented[n] = true
			}
		}
		for _, a := range args {
			if !documented[a] {
				t.Errorf("%s accepts %q, which backendDocs does not document for it", name, a)
			}
		}
		for n := range documented {
			if !slices.Contains(args, n) {
				t.Errorf("backendDocs documents %q for %s, which does not accept it", n, name)
			}
		}
	}
}

// TestUnknownBackendOrProxy: region.ErrPluginNotFound is the same sentinel
// for a backend and for a proxy of the wrap key; the message names the one
// that is missing, for a command and for config check alike.
func TestUnknownBackendOrProxy(t *testing.T) {
	typo := writeFile(t, "typo.ini", "[cache]\nbackend = memcache\n")
	far := writeFile(t, "far.ini", "[cache]\nbackend = foo.bar\n")
	proxy := writeFile(t, "proxy.ini", "[cache]\nbackend = memory\nwrap = nosuchproxy\n")
	typoProxy := writeFile(t, "typo-proxy.ini", "[cache]\nbackend = memory\nwrap = logging, loging\n")
	cases := []struct {
		name    string
		file    string
		want    []string
		notWant []string
	}{
		{"unknown backend, close name", typo,
			[]string{`unknown backend "memcache" (from [cache] in ` + typo + `); registered: `, "memcached, memory", `; did you mean "memcached"?`},
			[]string{"proxy", "import _"}},
		{"unknown backend, no close name", far,
			[]string{`unknown backend "foo.bar" (from [cache] in ` + far + `); registered: `, "see 'dogpile backends'"},
			[]string{"did you mean", "import _", "<package path>"}},
		{"unknown proxy", proxy,
			[]string{`unknown proxy "nosuchproxy" in wrap (from [cache] in ` + proxy + `); registered: `, "logging"},
			[]string{"unknown backend", `"memory"`, "import _", "<package path>"}},
		{"unknown proxy, close name", typoProxy,
			[]string{`unknown proxy "loging" in wrap (from [cache] in ` + typoProxy + `); registered: `, `; did you mean "logging"?`},
			[]string{"unknown backend", "import _"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a, _, _ := app()
			defer a.Close()
			check := func(what, text string) {
				t.Helper()
				for _, w := range c.want {
					if !strings.Contains(text, w) {
						t.Errorf("%s: %q, want %q", what, text, w)
					}
				}
				for _, w := range c.notWant {
					if strings.Contains(text, w) {
						t.Errorf("%s: %q, must not contain %q", what, text, w)
					}
				}
			}
			out, errOut, code := runApp(t, a, "-c", c.file, "get", "k")
			if code != ExitError || out != "" {
				t.Errorf("get: exit %d, stdout %q", code, out)
			}
			check("get", oneErrorLine(t, errOut))
			out, _, code = runApp(t, a, "config", "check", c.file)
			if code != ExitError {
				t.Errorf("config check: exit %d", code)
			}
			refused := ""
			for line := range strings.Lines(out) {
				if strings.Contains(line, "REFUSED") {
					refused = line
				}
			}
			if refused == "" {
				t.Fatalf("config check: no REFUSED line in %q", out)
			}
			check("config check", refused)
		})
	}
}

// TestHelpSaysWhereBackendApplies: the help of --backend says what
// loadStore does, replacing a dogpile.cache-style section's backend and
// refusing a keystone.conf [cache] section's.
func TestHelpSaysWhereBackendApplies(t *testing.T) {
	a, _, _ := app()
	defer a.Close()
	out, _, code := runApp(t, a, "--help")
	flat := strings.Join(strings.Fields(out), " ")
	for _, want := range []string{
		"--backend replaces the backend of a dogpile.cache-style section",
		"is refused with a keystone.conf [cache] section",
		"over a dogpile.cache-style section's; refused with a keystone.conf [cache] section",
	} {
		if code != 0 || !strings.Contains(flat, want) {
			t.Errorf("--help: exit %d, want %q in\n%s", code, want, out)
		}
	}
	ks := writeFile(t, "keystone.conf", "[cache]\nenabled = true\nbackend = dogpile.cache.memory\n")
	_, errOut, code := runApp(t, a, "-c", ks, "-b", "memory", "get", "k")
	if code != ExitError || !strings.Contains(oneErrorLine(t, errOut), "--backend memory cannot replace the backend of [cache] in "+ks) {
		t.Errorf("--backend over a keystone.conf: exit %d, %q", code, errOut)
	}
}
