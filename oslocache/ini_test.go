package oslocache

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/dogpile-go/dogpile/internal/pyrun"
)

func TestParseSyntax(t *testing.T) {
	cases := []struct {
		name, text string
		line       int    // 0: no error
		msg        string // part of the error
	}{
		{"empty", "", 0, ""},
		{"comments only", "# a\n; b\n", 0, ""},
		{"assignment before section", "a = b\n[cache]\n", 1, "section must be started before assignment"},
		{"no separator", "[cache]\nbackend\n", 2, "no ':' or '=' found"},
		{"empty key", "[cache]\n= x\n", 2, "key cannot be empty"},
		{"unclosed section", "[cache\n", 1, "invalid section (must end with ])"},
		{"empty section", "[]\n", 1, "empty section name"},
		{"continuation first", "[cache]\n  x\n", 2, "unexpected continuation line"},
		{"continuation after blank", "[cache]\nenabled = true\n\n  x\n", 4, "unexpected continuation line"},
		{"indented comment is a continuation", "[cache]\nenabled = true\n  # x\n", 0, ""},
		{"not utf-8", "[cache]\nbackend = \xff\n", 2, "not UTF-8"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse("keystone.conf", []byte(c.text))
			if c.line == 0 {
				if err != nil && !errors.Is(err, ErrBadValue) {
					t.Fatalf("unexpected error %v", err)
				}
				return
			}
			var se *SyntaxError
			if !errors.As(err, &se) || !errors.Is(err, ErrSyntax) {
				t.Fatalf("err = %v, want a SyntaxError", err)
			}
			errContains(t, err, fmt.Sprintf("keystone.conf:%d: ", c.line), c.msg)
		})
	}
}

func TestParseValues(t *testing.T) {
	c := mustParse(t, "# leading comment\r\n"+strings.Join([]string{
		"[DEFAULT]",
		"host = h1",
		"[CACHE]",
		"backend: dogpile.cache.memory",
		"config_prefix = 'quoted' ",
		`memcache_servers = "a:1, b:2" , c:3,`,
		"backend_argument = x:1",
		"backend_argument = y:2 # not a comment",
		"expiration_time = 1_200",
		"tls_cafile = line1",
		"  line2",
		"\tline3",
		"",
		"[cache]",
		"backend_argument = z:$host",
		"enabled = ON",
		"tls_keyfile = a\rtls_certfile = b",
	}, "\n"))
	want := map[string]any{
		"backend":          "dogpile.cache.memory",
		"config_prefix":    "quoted",
		"memcache_servers": []string{`"a:1`, `b:2"`, "c:3"},
		"backend_argument": []string{"x:1", "y:2 # not a comment", "z:h1"},
		"expiration_time":  int64(1200),
		"tls_cafile":       "line1\nline2\nline3",
		"enabled":          true,
		"tls_keyfile":      "a",
		"tls_certfile":     "b",
	}
	for name, w := range want {
		if got := c.cache[name].v; !reflect.DeepEqual(got, w) {
			t.Errorf("%s = %#v, want %#v", name, got, w)
		}
	}
	if p := c.cache["backend_argument"].items[2].pos; p.Line != 16 {
		t.Errorf("z:$host at line %d, want 16", p.Line)
	}
	if got := c.Sections(); !reflect.DeepEqual(got, []string{"DEFAULT", "cache"}) {
		t.Errorf("sections %v", got)
	}
}

func TestInterpolation(t *testing.T) {
	base := "[DEFAULT]\nhost = h\nport = 11211\nself = $self\n[token]\nloop = $loop2\nloop2 = $loop\nref = ${cache.expiration_time}\n[cache]\n"
	cases := []struct {
		value, want, err string
	}{
		{"$host:$port", "h:11211", ""},
		{"${host}x", "hx", ""},
		{"$$host \\$port $", "$host $port $", ""},
		{"$ $1 ${bad-name} ${}", "$ $1 ${bad-name} ${}", ""},
		{"$expiration_time", "600", ""},                        // a [cache] option's default
		{"$enabled/$memcache_socket_timeout", "False/1.0", ""}, // rendered as Python's str()
		{"${cache.memcache_servers}", "['localhost:11211']", ""},
		{"${token.ref}", "600", ""},
		{"$tls_cafile.", "", "[tls_cafile] has no option"}, // as in Python, the dot belongs to the name
		{"$nothere", "", "neither [cache] nor [DEFAULT] sets nothere"},
		{"$self", "", "loops back to [DEFAULT] self"},
		{"${token.loop}", "", "loops back to [token] loop"},
		{"$config_prefix", "", "loops back to [cache] config_prefix"},
	}
	for _, c := range cases {
		t.Run(c.value, func(t *testing.T) {
			conf, err := Parse("keystone.conf", []byte(base+"config_prefix = "+c.value+"\n"))
			if c.err != "" {
				errContains(t, err, "cannot substitute", c.err)
				if !errors.Is(err, ErrBadValue) {
					t.Errorf("%v is not ErrBadValue", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := conf.str("config_prefix"); got != c.want {
				t.Errorf("got %q, want %q", got, c.want)
			}
		})
	}
}

// TestInterpolationBounded: references that double a value at every step
// are refused once the value passes 1 MiB, quickly.
func TestInterpolationBounded(t *testing.T) {
	var b strings.Builder
	b.WriteString("[DEFAULT]\na0 = xxxxxxxx\n")
	for i := 1; i <= 40; i++ {
		fmt.Fprintf(&b, "a%d = $a%d${a%d}\n", i, i-1, i-1)
	}
	b.WriteString("[cache]\nconfig_prefix = $a40\n")
	_, err := Parse("keystone.conf", []byte(b.String()))
	errContains(t, err, "longer than 1048576 bytes")
	// The same through the memoization options of 40 sections.
	b.Reset()
	b.WriteString("[g0]\ncaching = true\n")
	for i := 1; i <= 40; i++ {
		fmt.Fprintf(&b, "[g%d]\ncaching = ${g%d.caching}\ncache_time = ${g%d.caching}${g%d.cache_time}\n", i, i-1, i-1, i-1)
	}
	_, err = Parse("keystone.conf", []byte(b.String()))
	errContains(t, err, "[g1] cache_time: cannot use \"True\"")
}

func TestUnknownOption(t *testing.T) {
	_, err := Parse("keystone.conf", []byte("[cache]\nenabled = true\nmemcache_server = a:1\nexpiraton_time = 5\nmemcache_server = b:1\n"))
	errContains(t, err,
		`keystone.conf:3: [cache] memcache_server: oslo.cache defines no such option; did you mean "memcache_servers"?`,
		`keystone.conf:4: [cache] expiraton_time: oslo.cache defines no such option; did you mean "expiration_time"?`)
	if !errors.Is(err, ErrUnknownOption) {
		t.Errorf("%v is not ErrUnknownOption", err)
	}
	if n := strings.Count(err.Error(), "memcache_server:"); n != 1 {
		t.Errorf("memcache_server reported %d times", n)
	}
	// Other sections are not checked: keystone.conf has hundreds of options.
	mustParse(t, "[token]\nprovider = fernet\n[cache]\nenabled = true\n")
}

func TestBadValues(t *testing.T) {
	cases := []struct{ line, msg string }{
		{"expiration_time = ten", `[cache] expiration_time: cannot use "ten": want an integer`},
		{"expiration_time = 0", "[cache] expiration_time: cannot use 0: should be greater than or equal to 1"},
		{"enabled = maybe", `[cache] enabled: cannot use "maybe": want a boolean`},
		{"memcache_socket_timeout = fast", `[cache] memcache_socket_timeout: cannot use "fast": want a number`},
		{"memcache_socket_timeout = nan", "want a finite number"},
		{"memcache_socket_timeout = 0x10", "want a number"},
		{"retry_attempts = 0", "should be greater than or equal to 1"},

		{"backend = oslo_cache.noop", `cannot use "oslo_cache.noop": oslo.cache offers oslo_cache.memcache_pool`},
		{"backend = dogpile.cache.memcache", `did you mean "dogpile.cache.memcached"?`},
		{"backend = pymemcache", `did you mean "dogpile.cache.pymemcache"?`},
	}
	for _, c := range cases {
		t.Run(c.line, func(t *testing.T) {
			_, err := Parse("keystone.conf", []byte("[cache]\n\n"+c.line+"\n"))
			errContains(t, err, "keystone.conf:3: ", c.msg)
			if !errors.Is(err, ErrBadValue) {
				t.Errorf("%v is not ErrBadValue", err)
			}
		})
	}
}

func TestMemoGroupValues(t *testing.T) {
	_, err := Parse("keystone.conf", []byte("[token]\ncaching = perhaps\n[catalog]\ncache_time = soon\n[role]\ncache_time = -2\n"))
	errContains(t, err, `keystone.conf:2: [token] caching: cannot use "perhaps"`,
		`keystone.conf:4: [catalog] cache_time: cannot use "soon"`,
		"keystone.conf:6: [role] cache_time: cannot use -2")
}

func TestPyStr(t *testing.T) {
	for _, c := range []struct {
		v    any
		want string
	}{
		{nil, ""}, {"x", "x"}, {true, "True"}, {int64(-3), "-3"}, {7, "7"}, {1.0, "1.0"}, {1e-5, "1e-05"},
		{[]string{"a", "it's", "\u00a0\n"}, `['a', "it's", '\xa0\n']`},
	} {
		if got := pyStr(c.v); got != c.want {
			t.Errorf("pyStr(%#v) = %s, want %s", c.v, got, c.want)
		}
	}
}

// pythonCorpus are files oslo.config and this package must read alike.
var pythonCorpus = []string{
	"[cache]\nenabled = true\nbackend = dogpile.cache.memory\n",
	"[cache]\nbackend_argument = a:1\n[CACHE]\nbackend_argument = b:2\n[cache]\nbackend_argument = c:$expiration_time\n",
	"[DEFAULT]\nhost = h1\n[cache]\nmemcache_servers = $host:1, \"${host}:2,x\" ,, \\$host,\nconfig_prefix = ${cache.enabled}$memcache_socket_timeout${memcache_servers}\n",
	"[cache]\nexpiration_time = +1_0\nmemcache_socket_timeout = 1_0.5e1\nmemcache_dead_retry =  7 \nretry_delay = .5\n",
	"[cache]\nexpiration_time =\nmemcache_pool_maxsize = 3\n",
	"[cache]\nenabled = YES\ndebug_cache_backend = Off\ntls_enabled = 0\n",
	"[cache]\ntls_cafile = first\n  second\n\tthird\nbackend = 'dogpile.cache.null'\nconfig_prefix = \"\nproxies = a , 'b,c',\n",
	"[cache]\nbackend_argument = x\n  y\nbackend_argument = url:a,b\n",
	"[cache]\nbackend = dogpile.cache.memcached\nbackend_argument = url:a:1,b:2\nbackend_argument = dead_retry:5\n",
	"[cache]\nconfig_prefix = $ a $1 ${x-y} $$ \\$\n",
	"[cache]\nexpiration_time = 1e3\n",
	"[cache]\nenabled = maybe\n",
	"[cache]\nmemcache_servers = 'a,b\n",
	"[cache]\n  indented\n",
	"[cache\n",
	"[cache]\nnovalue\n",
	"x = 1\n",
	"[token]\ncaching = false\ncache_time = 30\n[catalog]\ncache_time =\n",
	"[token]\ncaching = nope\n",
	"[cache]\nconfig_prefix = a\rexpiration_time = 5\r\n\r\nenabled: true\n",
	"[cache]\nconfig_prefix = ${token.caching}\n[token]\ncaching = no\n",
	"\ufeff[cache]\nenabled = true\n",
	"[cache]\nbackend = dogpile.cache.null\nenabled = t\n",
}

// TestAgainstOsloConfig reads every corpus file with oslo.config (Debian's
// python3-oslo.config and python3-oslo.cache) and with this package, and
// compares the [cache] values, the memoization options, and whether the
// file is refused.
func TestAgainstOsloConfig(t *testing.T) {
	py := needPython(t)
	dir := t.TempDir()
	var paths []string
	for i, text := range pythonCorpus {
		p := filepath.Join(dir, fmt.Sprintf("c%02d.conf", i))
		writeFileT(t, p, text)
		paths = append(paths, p)
	}
	out := py.Run(t, pyrun.Script{File: "testdata/oslo_read.py", Args: paths})
	lines := bytes.Split(bytes.TrimSpace(out), []byte("\n"))
	if len(lines) != len(paths) {
		t.Fatalf("%d results for %d files:\n%s", len(lines), len(paths), out)
	}
	for i, line := range lines {
		var want struct {
			Cache  map[string]any            `json:"cache"`
			Groups map[string]map[string]any `json:"groups"`
			Error  string                    `json:"error"`
		}
		if err := json.Unmarshal(line, &want); err != nil {
			t.Fatal(err)
		}
		c, err := Load(paths[i])
		if want.Error != "" {
			if err == nil {
				t.Errorf("corpus %d: oslo.config refuses it (%s), Go reads it\n%s", i, want.Error, pythonCorpus[i])
			}
			continue
		}
		if err != nil {
			t.Errorf("corpus %d: Go refuses it: %v\n%s", i, err, pythonCorpus[i])
			continue
		}
		for name, w := range want.Cache {
			got := jsonRoundTrip(t, c.cache[name].v)
			if !reflect.DeepEqual(got, w) {
				t.Errorf("corpus %d: %s = %#v, oslo.config reads %#v", i, name, got, w)
			}
		}
		for name, ov := range c.cache {
			if _, ok := want.Cache[name]; ov.set && !ok && ov.def.since != sinceNewer && ov.def.since != sinceBefore {
				t.Errorf("corpus %d: Go sets %s, oslo.config does not", i, name)
			}
		}
		for group, opts := range want.Groups {
			g, ok := c.memo[group]
			if !ok {
				g = memoGroup{caching: true}
			}
			var ct any
			if g.cacheTime != nil {
				ct = float64(*g.cacheTime)
			}
			if opts["caching"] != g.caching || !reflect.DeepEqual(opts["cache_time"], ct) {
				t.Errorf("corpus %d: [%s] caching %v cache_time %v, oslo.config reads %v", i, group, g.caching, ct, opts)
			}
		}
	}
}

func jsonRoundTrip(t testing.TB, v any) any {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var out any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

func writeFileT(t testing.TB, path, text string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestValue(t *testing.T) {
	c := mustParse(t, "[DEFAULT]\nmy_ip = 10.0.0.1\n[Database]\nconnection = mysql://$my_ip/keystone\nconnection = sqlite://\n[token]\nbad = $nowhere\n")
	v, pos, ok, err := c.Value("database", "connection")
	if err != nil || !ok || v != "sqlite://" || pos.String() != "keystone.conf:5" {
		t.Errorf("Value = %q, %v, %v, %v", v, pos, ok, err)
	}
	if _, _, ok, err := c.Value("database", "nothing"); ok || err != nil {
		t.Errorf("unset option: %v, %v", ok, err)
	}
	if _, _, ok, err := c.Value("token", "bad"); !ok || !errors.Is(err, ErrBadValue) {
		t.Errorf("bad reference: %v, %v", ok, err)
	}
	if got := c.Keys("DATABASE"); !reflect.DeepEqual(got, []string{"connection"}) {
		t.Errorf("Keys = %v", got)
	}
}

// TestReadINI: the exported reading gives the sections (normalized, in
// order of first appearance) and every assignment with its line, values
// continued on indented lines joined with newlines.
func TestReadINI(t *testing.T) {
	path := filepath.Join(t.TempDir(), "app.ini")
	text := "[DEFAULT]\nx = 1\n[App]\nurl = a:1,\n  b:2\nurl = c:3\n\n[other]\nk: 'v'\n[app]\nlate = yes\n"
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := ReadINI(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := f.Sections(); !slices.Equal(got, []string{"DEFAULT", "app", "other"}) {
		t.Errorf("Sections() = %q", got)
	}
	if !f.HasSection("APP") || f.HasSection("default") {
		t.Error("HasSection does not compare as oslo.config does")
	}
	want := []INIEntry{
		{Key: "url", Value: "a:1,\nb:2", Pos: Pos{File: path, Line: 4}},
		{Key: "url", Value: "c:3", Pos: Pos{File: path, Line: 6}},
		{Key: "late", Value: "yes", Pos: Pos{File: path, Line: 11}},
	}
	if got := f.Entries("app"); !slices.Equal(got, want) {
		t.Errorf("Entries(app) = %+v, want %+v", got, want)
	}
	if got := f.Entries("other"); len(got) != 1 || got[0].Value != "v" {
		t.Errorf("Entries(other) = %+v", got)
	}
	if f.Entries("nope") != nil {
		t.Error("entries for a missing section")
	}
	_, err = ParseINI("bad.ini", []byte("[a]\n  continued\n"))
	var se *SyntaxError
	if !errors.As(err, &se) || se.Pos.Line != 2 {
		t.Errorf("err = %v, want a *SyntaxError at line 2", err)
	}
	if _, err := ReadINI(path + ".missing"); err == nil || !strings.Contains(err.Error(), "not found") {
		t.Errorf("missing file: %v", err)
	}
}
