package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"image/png"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bradfitz/gomemcache/memcache"

	gocachebackend "github.com/dogpile-go/dogpile/backends/gocache"
	"github.com/dogpile-go/dogpile/internal/testservers"
	"github.com/dogpile-go/dogpile/region"
)

// cliCase is one command line of the findings tables: what runs first (on
// the same App, so the memory backend keeps its values), the command, its
// standard input, and what it must print and exit with.
type cliCase struct {
	name   string
	setup  [][]string
	wait   time.Duration // after the setup
	args   []string
	stdin  string
	code   int
	stdout string   // the exact standard output, when not ""
	outHas []string // parts of the standard output
	errHas []string // parts of the standard error
	errRe  string   // a pattern standard error matches
	errNot []string // what standard error must not say
	// raw: standard output is bytes, not JSON (get --raw, completion).
	raw bool
}

func runCases(t *testing.T, cases []cliCase) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a, _, _ := app()
			defer a.Close()
			for _, s := range c.setup {
				if _, errOut, code := runApp(t, a, s...); code != 0 {
					t.Fatalf("setup %v: exit %d: %s", s, code, errOut)
				}
			}
			time.Sleep(c.wait)
			a.Stdin = strings.NewReader(c.stdin)
			out, errOut, code := runApp(t, a, c.args...)
			if code != c.code {
				t.Errorf("exit %d, want %d (stdout %q, stderr %q)", code, c.code, out, errOut)
			}
			if c.stdout != "" && out != c.stdout {
				t.Errorf("stdout %q, want %q", out, c.stdout)
			}
			for _, w := range c.outHas {
				if !strings.Contains(out, w) {
					t.Errorf("stdout %q lacks %q", out, w)
				}
			}
			for _, w := range c.errHas {
				if !strings.Contains(errOut, w) {
					t.Errorf("stderr %q lacks %q", errOut, w)
				}
			}
			if c.errRe != "" && !regexp.MustCompile(c.errRe).MatchString(errOut) {
				t.Errorf("stderr %q does not match %q", errOut, c.errRe)
			}
			for _, w := range c.errNot {
				if strings.Contains(errOut, w) {
					t.Errorf("stderr %q says %q", errOut, w)
				}
			}
			if code == ExitError && strings.Count(errOut, "dogpile: ") != 1 {
				t.Errorf("an error is one line on stderr: %q", errOut)
			}
			if !c.raw && out != "" && c.args[0] == "get" && !json.Valid([]byte(out)) {
				t.Errorf("get printed invalid JSON: %q", out)
			}
		})
	}
}

// TestFindingsWorkload (finding 1): workloads that cannot run, such as a
// Zipf exponent of +Inf that used to spin forever, are refused before
// anything runs, naming the value and the allowed range.
func TestFindingsWorkload(t *testing.T) {
	runCases(t, []cliCase{
		{name: "zipf Inf", args: []string{"bench", "--zipf", "Inf"}, code: 2, errHas: []string{"bench --zipf +Inf: out of range: want a number greater than 1 and at most 100"}},
		{name: "zipf +Inf", args: []string{"bench", "--zipf", "+Inf"}, code: 2, errHas: []string{"bench --zipf +Inf"}},
		{name: "zipf NaN", args: []string{"bench", "--zipf", "NaN"}, code: 2, errHas: []string{"bench --zipf NaN: out of range"}},
		{name: "zipf 1", args: []string{"bench", "--zipf", "1"}, code: 2, errHas: []string{"bench --zipf 1: out of range"}},
		{name: "zipf 1e9", args: []string{"bench", "--zipf", "1e9"}, code: 2, errHas: []string{"bench --zipf 1e+09: out of range"}},
		{name: "zipf -3", args: []string{"bench", "--zipf=-3"}, code: 2, errHas: []string{"bench --zipf -3: out of range"}},
	})
}

// TestFindingsNumbers (finding 2): every number is stored exactly or
// refused, naming it; get --meta prints one JSON object.
func TestFindingsNumbers(t *testing.T) {
	runCases(t, []cliCase{
		{name: "1e400", args: []string{"set", "f", "1e400"}, code: 2, errHas: []string{"set f: number 1e400 cannot be stored exactly: it is beyond the range of a 64-bit float"}},
		{name: "1e400 in an object", args: []string{"set", "f", `{"a": [1e400]}`}, code: 2, errHas: []string{"number 1e400 cannot be stored exactly"}},
		{name: "2^64", args: []string{"set", "f", "18446744073709551616"}, code: 2, errHas: []string{"number 18446744073709551616 cannot be stored exactly: integers are kept from"}},
		{name: "too precise", args: []string{"set", "f", "3.14159265358979323846264338327950288"}, code: 2, errHas: []string{"it would read back as 3.141592653589793"}},
		{name: "2^63", setup: [][]string{{"set", "big", "9223372036854775808"}}, args: []string{"get", "big"}, stdout: "9223372036854775808\n"},
		{name: "negative", setup: [][]string{{"set", "neg", "-9223372036854775808"}}, args: []string{"get", "neg"}, stdout: "-9223372036854775808\n"},
		{name: "float stays float", setup: [][]string{{"set", "one", "1.0"}}, args: []string{"get", "one"}, stdout: "1.0\n"},
		{name: "meta", setup: [][]string{{"set", "k", `{"x": 1.5, "n": 9223372036854775808}`}}, args: []string{"get", "--meta", "k"},
			outHas: []string{`{"key":"k","value":{"n":9223372036854775808,"x":1.5},"created_at":"`, `"age_seconds":`, `"format_version":1`, `"backend":"memory"`}},
		{name: "stdin too large", args: []string{"set", "k", "-"}, stdin: `"` + strings.Repeat("x", 64<<20) + `"`, code: 2,
			errHas: []string{"set k: the value on standard input is larger than 64 MiB, the most set - reads"}, errNot: []string{"not JSON"}},
	})
}

// TestFindingsExpiredAndRaw (finding 3, in-process part): an expired key
// says how long ago it expired and how to see it; --raw prints the stored
// bytes, and says why it cannot when the backend keeps Go values.
func TestFindingsExpiredAndRaw(t *testing.T) {
	cfg := writeFile(t, "short.ini", "[cache]\nbackend = memory\nexpiration_time = 0.2\n[bytes]\nbackend = memory_serialized\n")
	runCases(t, []cliCase{
		{name: "expired", setup: [][]string{{"-c", cfg, "set", "k", `"v"`}}, wait: 500 * time.Millisecond, args: []string{"-c", cfg, "get", "k"}, code: 1,
			errRe: `dogpile: key "k" expired 0\.[3-9] s ago \(expiration_time 200ms, created 0\.[5-9] s ago\); --ignore-expiration prints it \(backend memory from \[cache\] in .*short.ini\)`},
		{name: "ignore expiration", setup: [][]string{{"-c", cfg, "set", "k", `"v"`}}, wait: 300 * time.Millisecond, args: []string{"-c", cfg, "get", "--ignore-expiration", "k"}, stdout: "\"v\"\n"},
		{name: "meta of an expired value", setup: [][]string{{"-c", cfg, "set", "k", `"v"`}}, wait: 300 * time.Millisecond,
			args: []string{"-c", cfg, "get", "--meta", "--ignore-expiration", "k"}, outHas: []string{`"value":"v"`, `"expired":true`}},
		{name: "absent", args: []string{"get", "nope"}, code: 1, errHas: []string{`key "nope" not found (backend memory from the default)`}},
		{name: "raw of Go values", setup: [][]string{{"set", "k", "1"}}, args: []string{"get", "--raw", "k"}, code: 2,
			errHas: []string{"get --raw: backend memory keeps Go values, not bytes"}},
		{name: "raw bytes", setup: [][]string{{"-c", cfg, "-s", "bytes", "set", "k", `"v"`}}, args: []string{"-c", cfg, "-s", "bytes", "get", "--raw", "k"},
			outHas: []string{"|\xa1v"}, raw: true},
		{name: "raw and meta", args: []string{"get", "--raw", "--meta", "k"}, code: 2, errHas: []string{"--raw and --meta cannot be combined"}},
	})
}

// TestFindingsCompletion (finding 6): completion is listed in the help and
// completes subcommands, backend names, ini sections, strategies and
// progress modes.
func TestFindingsCompletion(t *testing.T) {
	ini := writeFile(t, "c.ini", "[cache]\nbackend = memory\n[prod]\nbackend = memcached\n")
	runCases(t, []cliCase{
		{name: "help lists it", args: []string{"--help"}, outHas: []string{"completion   Generate the autocompletion script", "dogpile completion SHELL"}, raw: true},
		{name: "bash script", args: []string{"completion", "bash"}, outHas: []string{"bash completion"}, raw: true},
		{name: "subcommands", args: []string{"__complete", ""}, outHas: []string{"bench\t", "get\t", "completion\t", "help\t"}, raw: true},
		{name: "backends", args: []string{"__complete", "--backend", "mem"}, outHas: []string{"memcached\n", "memory\n", "memory_serialized\n"}, raw: true},
		{name: "sections", args: []string{"__complete", "-c", ini, "get", "-s", ""}, stdout: "cache\nprod\n:4\n", raw: true},
		{name: "strategies", args: []string{"__complete", "bench", "--strategies", "region,"}, outHas: []string{"region,cache-aside\n", "region,region-async\n"}, raw: true},
		{name: "progress", args: []string{"__complete", "bench", "--progress", ""}, stdout: "auto\nalways\nnever\n:4\n", raw: true},
		{name: "arguments", args: []string{"__complete", "-b", "memcached", "-a", ""}, outHas: []string{"url=\n", "socket_timeout=\n"}, raw: true},
		{name: "help topics", args: []string{"__complete", "help", ""}, outHas: []string{"bench\n", "lock\n"}, raw: true},
	})
}

// TestFindingsMessages (finding 7): units, hosts and limits in errors.
func TestFindingsMessages(t *testing.T) {
	closed := testservers.ClosedAddr(t)
	key300 := strings.Repeat("k", 300)
	runCases(t, []cliCase{
		{name: "gocache.memcache default socket_timeout", args: []string{"-b", "gocache.memcache", "-a", "url=" + closed, "get", "k"}, code: 2,
			errHas: []string{"cannot reach the memcached server at " + closed + " (socket_timeout 3s)"}},
		{name: "socket_timeout in bare seconds", args: []string{"-b", "gocache.memcache", "-a", "url=" + closed, "-a", "socket_timeout=3", "get", "k"}, code: 2,
			errHas: []string{"(socket_timeout 3s)"}},
		{name: "socket_timeout fraction", args: []string{"-b", "memcached", "-a", "url=" + closed, "-a", "socket_timeout=0.25", "get", "k"}, code: 2,
			errHas: []string{"(socket_timeout 250ms)"}},
		{name: "unresolvable host", args: []string{"-b", "memcached", "-a", "url=nohost.invalid:11211", "get", "k"}, code: 2,
			errHas: []string{"cannot resolve host nohost.invalid, in argument url (backend memcached from --backend and --arg)"}, errNot: []string{"[]string{"}},
		{name: "expire time too large", args: []string{"-b", "memcached", "-a", "url=" + closed, "-a", "memcached_expire_time=99999999999", "get", "k"}, code: 2,
			errHas: []string{"argument memcached_expire_time = 99999999999: cannot use it as a duration: too large: the longest duration is 9223372036 seconds"},
			errNot: []string{"Go duration such as"}},
		{name: "long key in-process", args: []string{"get", key300}, code: 1, errHas: []string{key300}},
	})
}

// TestFindingsSmall (finding 8): help on an unknown topic and absurd
// durations and counts are errors naming the allowed range.
func TestFindingsSmall(t *testing.T) {
	runCases(t, []cliCase{
		{name: "help nosuch", args: []string{"help", "nosuch"}, code: 2, errHas: []string{"help nosuch: no such command (commands: backends, bench, completion,"}},
		{name: "help get", args: []string{"help", "get"}, outHas: []string{"dogpile get"}, raw: true},
		{name: "hold -1s", args: []string{"lock", "--hold", "-1s", "k"}, code: 2, errHas: []string{"lock --hold -1s: out of range: want 0 (release at once) to 24h"}},
		{name: "hold 25h", args: []string{"lock", "--hold", "25h", "k"}, code: 2, errHas: []string{"lock --hold 25h: out of range"}},
		{name: "duration 100h", args: []string{"bench", "--duration", "100h"}, code: 2, errHas: []string{"bench --duration 100h: out of range: want 100ms to 1h"}},
		{name: "duration 1ms", args: []string{"bench", "--duration", "1ms"}, code: 2, errHas: []string{"bench --duration 1ms: out of range"}},
		{name: "expiration 0", args: []string{"bench", "--expiration", "0"}, code: 2, errHas: []string{"bench --expiration 0s: out of range: want 1ms to 1h"}},
		{name: "creator latency 2h", args: []string{"bench", "--creator-latency", "2h"}, code: 2, errHas: []string{"bench --creator-latency 2h: out of range: want 0s to 1m"}},
		{name: "goroutines 0", args: []string{"bench", "-n", "0"}, code: 2, errHas: []string{"bench --goroutines 0: out of range: want 1 to 10000"}},
		{name: "keys", args: []string{"bench", "-k", "99999999"}, code: 2, errHas: []string{"bench --keys 99999999: out of range"}},
		{name: "procs 0", args: []string{"bench", "--procs", "0"}, code: 2, errHas: []string{"bench --procs 0: want 1 to 64"}},
		{name: "get timeout 0", args: []string{"get", "--timeout", "0", "k"}, code: 2, errHas: []string{"get --timeout 0s: out of range: want more than 0s and at most 24h"}},
		{name: "set timeout -1s", args: []string{"set", "--timeout", "-1s", "k", "1"}, code: 2, errHas: []string{"set --timeout -1s: out of range"}},
		{name: "lock timeout 48h", args: []string{"lock", "--timeout", "48h", "k"}, code: 2, errHas: []string{"lock --timeout 48h: out of range"}},
		{name: "delete timeout 0", args: []string{"delete", "--timeout", "0", "k"}, code: 2, errHas: []string{"delete --timeout 0s: out of range"}},
		{name: "hold with check", args: []string{"lock", "--hold", "1s", "--check", "k"}, code: 2, errHas: []string{"--hold and --check cannot be combined"}},
	})
}

// TestStoreFlagsRefusedWhereUnused: the flags that choose the store are
// refused by name by the commands that do not read them, before anything
// runs, so that a setting is never silently ignored.
func TestStoreFlagsRefusedWhereUnused(t *testing.T) {
	conf := writeFile(t, "k.conf", "[cache]\nenabled = true\nbackend = dogpile.cache.memory\n")
	runCases(t, []cliCase{
		{name: "backends -b", args: []string{"backends", "-b", "nonexistent"}, code: 2, errHas: []string{"dogpile backends does not use --backend"}},
		{name: "backends -c", args: []string{"-c", "/nonexistent", "backends"}, code: 2, errHas: []string{"dogpile backends does not use --config"}},
		{name: "check -b", args: []string{"config", "check", conf, "--backend", "dogpile.cache.redis"}, code: 2, errHas: []string{"dogpile config check does not use --backend: it reads only --prefix"}},
		{name: "check -a", args: []string{"config", "check", conf, "-a", "foo=bar"}, code: 2, errHas: []string{"does not use --arg"}},
		{name: "check -s", args: []string{"config", "check", conf, "-s", "other"}, code: 2, errHas: []string{"does not use --section"}},
		{name: "check -c", args: []string{"config", "check", "-c", conf, conf}, code: 2, errHas: []string{"does not use --config"}},
		{name: "completion -b", args: []string{"completion", "bash", "-b", "memory"}, code: 2, errHas: []string{"does not use --backend"}},
		// What the commands read is still accepted.
		{name: "check --prefix", args: []string{"config", "check", "--prefix", "cache.", conf}, outHas: []string{"no cache configuration"}, raw: true},
		{name: "get -b", args: []string{"-b", "memory", "get", "k"}, code: 1},
	})
}

// TestFindingsPlot (finding 10): --plot draws the picture, SVG or PNG by
// the file's extension, and refuses other extensions before running.
func TestFindingsPlot(t *testing.T) {
	dir := t.TempDir()
	short := []string{"bench", "--duration", "600ms", "-n", "10", "-k", "3", "--expiration", "200ms", "--strategies", "cache-aside,region"}
	runCases(t, []cliCase{
		{name: "gif", args: append(short, "--plot", filepath.Join(dir, "x.gif")), code: 2, errHas: []string{"x.gif: the picture's file name must end in .svg or .png"}},
		{name: "png", args: append(short, "--plot", filepath.Join(dir, "b.png")), outHas: []string{"region.GetOrCreate (memory)"}, raw: true},
		{name: "svg", args: append(short, "--plot", filepath.Join(dir, "b.svg")), outHas: []string{"cache-aside (go-cache)"}, raw: true},
	})
	f, err := os.Open(filepath.Join(dir, "b.png"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil || img.Bounds().Dx() < 800 || img.Bounds().Dy() < 600 {
		t.Errorf("b.png: %v, %v", img.Bounds(), err)
	}
	svg, err := os.ReadFile(filepath.Join(dir, "b.svg"))
	if err != nil || !bytes.Contains(svg, []byte("<svg")) {
		t.Fatalf("b.svg: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "x.gif")); !os.IsNotExist(err) {
		t.Errorf("x.gif was written: %v", err)
	}
}

// TestFindingsOnServers runs the findings that need a memcached or Redis
// server: foreign values (finding 3), a key too long for memcached printed
// once and a --timeout too short reported as such (finding 7), numbers
// through a byte backend (finding 2), and the like-with-like bench rows.
func TestFindingsOnServers(t *testing.T) {
	servers := testservers.Memcached(t)
	redisAddr := testservers.Redis(t)
	mc := []string{"-b", "memcached", "-a", "url=" + strings.Join(servers, ",")}
	rd := []string{"-b", "gocache.redis", "-a", "addr=" + redisAddr}

	plain := testservers.UniqueKey(t, "plain")
	if err := testservers.RedisClient(t).Set(t.Context(), plain, "hello world", time.Minute).Err(); err != nil {
		t.Fatal(err)
	}
	foreign := testservers.UniqueKey(t, "foreign")
	client := memcache.New(servers...)
	// The memcached backend hashes keys with SHA-1: the other program's
	// item is where the backend would look.
	if err := client.Set(&memcache.Item{Key: region.SHA1MangleKey(foreign), Value: []byte("set by another client"), Flags: 7}); err != nil {
		t.Fatal(err)
	}
	defer client.Delete(region.SHA1MangleKey(foreign))

	_, paused := testservers.StartMemcached(t)
	paused.Pause()
	defer paused.Resume()
	long := strings.Repeat("k", 300)
	big := testservers.UniqueKey(t, "big")

	runCases(t, []cliCase{
		{name: "redis foreign", args: append(rd, "get", plain), code: ExitForeign,
			errHas: []string{`key "` + plain + `" is present, not a dogpile value (11 bytes); --raw prints it (backend gocache.redis from --backend and --arg)`},
			errNot: []string{"warning", "corrupt"}},
		{name: "redis foreign raw", args: append(rd, "get", "--raw", plain), stdout: "hello world", raw: true},
		{name: "redis foreign meta", args: append(rd, "get", "--meta", plain), code: ExitForeign, errHas: []string{"not a dogpile value (11 bytes)"}},
		{name: "memcached foreign", args: append(mc, "get", foreign), code: ExitForeign, errHas: []string{"is present, not a dogpile value (21 bytes)"}},
		{name: "memcached foreign raw", args: append(mc, "get", "--raw", foreign), stdout: "set by another client", raw: true},
		{name: "memcached absent", args: append(mc, "get", testservers.UniqueKey(t, "nothing")), code: 1, errHas: []string{"not found"}},
		{name: "300-byte key once", args: []string{"-b", "gocache.memcache", "-a", "url=" + servers[0], "get", long}, code: 2,
			errHas: []string{`key "` + long + `" (300 bytes) is not a valid memcached key: at most 250 bytes`}},
		{name: "timeout too short", args: []string{"-b", "memcached", "-a", "url=" + paused.Addr(), "-a", "socket_timeout=20s", "get", "--timeout", "300ms", "k"}, code: 2,
			errHas: []string{"no answer within --timeout 300ms (backend memcached from --backend and --arg); a longer --timeout may help"},
			errNot: []string{"cannot reach"}},
		{name: "socket timeout", args: []string{"-b", "memcached", "-a", "url=" + paused.Addr(), "-a", "socket_timeout=300ms", "get", "k"}, code: 2,
			errHas: []string{"no answer from the memcached server at " + paused.Addr() + " within socket_timeout 300ms"}},
		{name: "2^63 through memcached", setup: [][]string{append(mc, "set", big, "9223372036854775808")}, args: append(mc, "get", big), stdout: "9223372036854775808\n"},
		{name: "floats through memcached", setup: [][]string{append(mc, "set", big, "[0.1, 1.0, 1e300]")}, args: append(mc, "get", big), stdout: "[0.1,1.0,1e+300]\n"},
	})
	// A key printed once.
	a, _, _ := app()
	defer a.Close()
	_, errOut, _ := runApp(t, a, "-b", "gocache.memcache", "-a", "url="+servers[0], "get", long)
	if n := strings.Count(errOut, long); n != 1 {
		t.Errorf("the 300-byte key is printed %d times: %q", n, errOut)
	}
}

// testBytes is a byte backend of the tests' own: a map, whose values a
// ForeignDecoder reads when they start with "py:".
type testBytes struct {
	mu sync.Mutex
	m  map[string][]byte
}

func (b *testBytes) GetSerialized(_ context.Context, key string) ([]byte, bool, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	v, ok := b.m[key]
	return v, ok, nil
}

func (b *testBytes) GetSerializedMulti(ctx context.Context, keys []string) (map[string][]byte, error) {
	out := map[string][]byte{}
	for _, k := range keys {
		if v, ok, _ := b.GetSerialized(ctx, k); ok {
			out[k] = v
		}
	}
	return out, nil
}

func (b *testBytes) SetSerialized(_ context.Context, key string, v []byte) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.m[key] = v
	return nil
}

func (b *testBytes) SetSerializedMulti(ctx context.Context, m map[string][]byte) error {
	for k, v := range m {
		_ = b.SetSerialized(ctx, k, v)
	}
	return nil
}

func (b *testBytes) Delete(_ context.Context, key string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	delete(b.m, key)
	return nil
}

func (b *testBytes) DeleteMulti(ctx context.Context, keys []string) error {
	for _, k := range keys {
		_ = b.Delete(ctx, k)
	}
	return nil
}

func (b *testBytes) GetMutex(string) region.Mutex { return nil }

// DecodeForeign is the ForeignDecoder hook.
func (b *testBytes) DecodeForeign(raw []byte) (any, string, bool) {
	rest, ok := bytes.CutPrefix(raw, []byte("py:"))
	if !ok {
		return nil, "", false
	}
	return map[string]any{"decoded": string(rest)}, "test pickle", true
}

var (
	testStoreOnce sync.Once
	testStore     = &testBytes{m: map[string][]byte{}}
)

func registerTestBackends() {
	testStoreOnce.Do(func() {
		// A byte backend with the JSON serializer, whose values a
		// ForeignDecoder reads too.
		region.RegisterBackend("test.json_bytes", func(region.Arguments) (region.Backend, error) {
			return region.NewSerializedBackend(testStore, region.JSONSerializer{}), nil
		})
	})
}

// TestForeignDecoderHook: a backend that knows other programs' formats
// (as Python's pickles will be) gets get to decode them.
func TestForeignDecoderHook(t *testing.T) {
	registerTestBackends()
	testStore.m["py"] = []byte("py:hello")
	testStore.m["junk"] = []byte("\x80\x04junk")
	tb := []string{"-b", "test.json_bytes"}
	runCases(t, []cliCase{
		{name: "decoded", args: append(tb, "get", "py"), stdout: `{"decoded":"hello"}` + "\n", errHas: []string{`key "py": a test pickle value (8 bytes), not written by dogpile-go`}},
		{name: "raw", args: append(tb, "get", "--raw", "py"), stdout: "py:hello", raw: true},
		{name: "unknown", args: append(tb, "get", "junk"), code: ExitForeign, errHas: []string{"not a dogpile value (6 bytes)"}},
		// The JSON serializer: a large integer is printed as written, not
		// through a float64.
		{name: "json exact", setup: [][]string{append(tb, "set", "n", `{"n": 9223372036854775808, "f": 0.1}`)}, args: append(tb, "get", "n"),
			stdout: `{"f":0.1,"n":9223372036854775808}` + "\n"},
	})
}

// TestFindingsServerDiesMidBench (finding 4): the memcached server dies
// during the first strategy; the table (and the JSON) still shows it, and
// names the strategy that could not run.
func TestFindingsServerDiesMidBench(t *testing.T) {
	for _, asJSON := range []bool{false, true} {
		addr, srv := testservers.StartMemcached(t)
		args := []string{"-b", "memcached", "-a", "url=" + addr, "-a", "socket_timeout=300ms",
			"bench", "--duration", "1500ms", "-n", "10", "-k", "3", "--strategies", "region,region-async", "--progress", "always"}
		if asJSON {
			args = append(args, "--json")
		}
		a, out, errOut := app()
		done := make(chan int, 1)
		go func() { done <- a.Run(t.Context(), args) }()
		waitFor(t, func() bool { return strings.Contains(errOut.String(), "[1/2]") })
		time.Sleep(500 * time.Millisecond)
		srv.Stop()
		code := <-done
		a.Close()
		if code != ExitError || !strings.Contains(errOut.String(), "dogpile: bench stopped: strategy region-async failed: cannot reach the memcached server at "+addr) {
			t.Errorf("exit %d, stderr %q", code, errOut)
		}
		if asJSON {
			b := parseBench(t, out.String())
			if b.Complete || b.Failure == nil || b.Failure.Strategy != "region-async" || len(b.Results) != 1 || b.Results[0].Requests == 0 {
				t.Errorf("JSON %+v", b)
			}
			continue
		}
		for _, want := range []string{"region.GetOrCreate (memcached)", "FAILED: strategy region-async: "} {
			if !strings.Contains(out.String(), want) {
				t.Errorf("table lacks %q:\n%s", want, out)
			}
		}
	}
}

// TestBackendDocsTimeoutsAgree: the socket timeout quoted in error
// messages is the one `dogpile backends` documents, for every backend.
func TestBackendDocsTimeoutsAgree(t *testing.T) {
	for _, d := range backendDocs {
		if d.TimeoutArg == "" {
			continue
		}
		for _, a := range d.Args {
			if a.Name == d.TimeoutArg && a.Default != d.DefaultTimeout {
				t.Errorf("%s: %s default %q in the argument table, %q in messages", d.Name, a.Name, a.Default, d.DefaultTimeout)
			}
		}
	}
	if d, _ := docFor("gocache.memcache"); d.DefaultTimeout != gocachebackend.DefaultMemcacheSocketTimeout.String() {
		t.Errorf("gocache.memcache: documented socket_timeout %s, the backend's is %s", d.DefaultTimeout, gocachebackend.DefaultMemcacheSocketTimeout)
	}
}
