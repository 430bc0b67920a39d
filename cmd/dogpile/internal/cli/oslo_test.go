package cli

import (
	"encoding/json"
	"strings"
	"testing"
)

const keystoneConf = `[DEFAULT]
debug = true

[cache]
enabled = true
backend = dogpile.cache.memory
expiration_time = 300
memcache_servers = 127.0.0.1:11211
debug_cache_backend = false

[token]
caching = true
cache_time = 3600

[catalog]
caching = false
`

// TestKeystoneConfStore: a keystone.conf [cache] section is read by
// oslo.cache's rules; dogpile.cache-style sections as before.
func TestKeystoneConfStore(t *testing.T) {
	path := writeFile(t, "keystone.conf", keystoneConf)
	sc, err := loadStore(storeFlags{config: path})
	if err != nil {
		t.Fatal(err)
	}
	if sc.oslo == nil || sc.backend() != "dogpile.cache.memory" || sc.conf["expiration_time"] != 300.0 {
		t.Fatalf("store %+v", sc)
	}
	if !strings.Contains(sc.source, "[cache] in "+path) {
		t.Errorf("source %q", sc.source)
	}
	// --arg still applies over the file; --backend is refused (see
	// TestKeystoneConfCommands).
	sc, err = loadStore(storeFlags{config: path, args: []string{"expiration_time=60"}})
	if err != nil || sc.backend() != "dogpile.cache.memory" || sc.oslo.Arguments["expiration_time"] != 60 {
		t.Fatalf("overrides: %v %+v", err, sc)
	}
	// Detection.
	for _, c := range []struct {
		text string
		oslo bool
	}{
		{"[cache]\nbackend = memcached\narguments.url = a:1\n", false},
		{"[cache]\nbackend = memcached\nbackend_argument = url:a:1\n", false},
		{"[cache]\nbackend = dogpile.cache.memory\narguments.x = 1\n", false},
		{"[cache]\nbackend = dogpile.cache.memory\n", true},
		{"[cache]\nenabled = true\n", true},
		{"[cache]\nbackend = memcached\nmemcache_servers = a:1\n", true},
		{"[CACHE]\nbackend = oslo_cache.memcache_pool\n", true},
	} {
		p := writeFile(t, "c.conf", c.text)
		if got := isOsloSection(p, "cache", ""); got != c.oslo {
			t.Errorf("%q: oslo rules %v, want %v", c.text, got, c.oslo)
		}
		if isOsloSection(p, "cache", "cache.") || isOsloSection(p, "other", "") {
			t.Errorf("%q: a prefix or another section is never read by oslo's rules", c.text)
		}
	}
	// An oslo.cache option problem names the file, line and option.
	bad := writeFile(t, "bad.conf", "[cache]\nenabled = true\nbackend = dogpile.cache.memcache\nexpiraton_time = 5\n")
	_, err = loadStore(storeFlags{config: bad})
	for _, want := range []string{bad + `:3: [cache] backend: cannot use "dogpile.cache.memcache"`, `did you mean "dogpile.cache.memcached"?`,
		bad + `:4: [cache] expiraton_time: oslo.cache defines no such option; did you mean "expiration_time"?`} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("err = %v, want %q", err, want)
		}
	}
	if err != nil && strings.Contains(err.Error(), "\n") {
		t.Errorf("error on several lines: %q", err)
	}
}

func TestKeystoneConfCommands(t *testing.T) {
	path := writeFile(t, "keystone.conf", keystoneConf)
	a, _, _ := app()
	defer a.Close()
	if _, errOut, code := runApp(t, a, "-c", path, "set", "user:42", `"ada"`); code != 0 {
		t.Fatalf("set: exit %d: %s", code, errOut)
	}
	out, errOut, code := runApp(t, a, "-c", path, "-s", "cache", "get", "--meta", "user:42")
	if code != 0 || !strings.Contains(out, `"value":"ada"`) || !strings.Contains(out, `"backend":"dogpile.cache.memory"`) {
		t.Fatalf("get: exit %d: %s %s", code, out, errOut)
	}
	// Caching disabled: the null backend, and a note saying so.
	off := writeFile(t, "off.conf", "[cache]\nbackend = oslo_cache.memcache_pool\n")
	_, errOut, code = runApp(t, a, "-c", off, "set", "k", "1")
	if code != 0 || !strings.Contains(errOut, "caching is disabled ([cache] enabled = false") {
		t.Fatalf("disabled set: exit %d: %s", code, errOut)
	}
	if _, _, code := runApp(t, a, "-c", off, "get", "k"); code != ExitNegative {
		t.Fatalf("disabled get: exit %d, want %d", code, ExitNegative)
	}
	// An argument the backend does not know: exit 2, naming it and the
	// backend.
	unknown := writeFile(t, "unknown.conf", "[cache]\nenabled = true\nbackend = dogpile.cache.memory\nbackend_argument = lokc_timeout:5\n")
	_, errOut, code = runApp(t, a, "-c", unknown, "get", "k")
	line := oneErrorLine(t, errOut)
	if code != ExitError || !strings.Contains(line, unknown+`:4: [cache] backend_argument: backend dogpile.cache.memory: unknown argument "lokc_timeout" (did you mean "lock_timeout"?)`) ||
		strings.Count(line, "dogpile.cache.memory") != 1 {
		t.Fatalf("unknown argument: exit %d: %s", code, errOut)
	}
	_, errOut, code = runApp(t, a, "-b", "memory", "-a", "lokc_timeout=5", "get", "k")
	line = oneErrorLine(t, errOut)
	if code != ExitError || !strings.Contains(line, "memory") || !strings.Contains(line, `"lokc_timeout" (did you mean "lock_timeout"?)`) {
		t.Fatalf("unknown --arg: exit %d: %s", code, errOut)
	}
	// --backend over a keystone.conf is refused: the file's options are
	// mapped for its own backend (and to nothing while enabled is false).
	for _, c := range []struct{ conf, backend string }{
		{"[cache]\nmemcache_servers = 127.0.0.1:1\n", "dogpile.cache.memcached"},
		{"[cache]\nenabled = true\nbackend = dogpile.cache.memcached\nmemcache_servers = 127.0.0.1:1\n", "dogpile.cache.redis"},
	} {
		conf := writeFile(t, "override.conf", c.conf)
		_, errOut, code = runApp(t, a, "-c", conf, "-b", c.backend, "get", "k")
		line = oneErrorLine(t, errOut)
		if code != ExitError || !strings.Contains(line, "--backend "+c.backend+" cannot replace the backend of [cache] in "+conf) {
			t.Errorf("--backend %s over %q: exit %d: %s", c.backend, c.conf, code, errOut)
		}
	}
	// -s cache, the default section, needs no --config.
	if _, errOut, code := runApp(t, a, "-s", "cache", "get", "nothing"); code != ExitNegative {
		t.Fatalf("-s cache without -c: exit %d: %s", code, errOut)
	}
}

func TestConfigCheck(t *testing.T) {
	path := writeFile(t, "keystone.conf", keystoneConf+"[other]\nbackend = memory\narguments.expiration_time = 5\nstray = 1\n")
	a, _, _ := app()
	defer a.Close()
	out, errOut, code := runApp(t, a, "config", "check", path)
	if code != 0 {
		t.Fatalf("exit %d: %s\n%s", code, errOut, out)
	}
	for _, want := range []string{
		"[cache] in " + path + " (oslo.cache rules)",
		"  backend      dogpile.cache.memory\n",
		"  expiration   5m0s\n",
		"  key mangler  SHA-1 (oslo.cache's sha1_mangle_key: the backend has none)\n",
		"  ignored      " + path + ":8: [cache] memcache_servers: no effect with the dogpile.cache.memory backend",
		"[other] in " + path + " (dogpile.cache rules)",
		"  arguments    expiration_time = 5\n",
		"  ignored      stray: not a dogpile.cache region key",
		"  [token] caching on, values expire after 1h0m0s (cache_time)\n",
		"  [catalog] caching off: calls go straight to the function\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	// Refused options: listed, exit 2.
	bad := writeFile(t, "bad.conf", "[cache]\nenabled = true\nbackend = oslo_cache.memcache_pool\nmemcache_sasl_enabled = true\nenable_retry_client = true\n")
	out, errOut, code = runApp(t, a, "config", "check", bad)
	if code != ExitError || !strings.Contains(out, "REFUSED      "+bad+":4: [cache] memcache_sasl_enabled: SASL") ||
		!strings.Contains(out, "REFUSED      "+bad+":5: [cache] enable_retry_client:") || !strings.Contains(errOut, "2 refused") {
		t.Fatalf("exit %d: %s\n%s", code, errOut, out)
	}
	// JSON.
	out, _, code = runApp(t, a, "config", "check", "--json", path)
	var rep checkReport
	if code != 0 || json.Unmarshal([]byte(out), &rep) != nil || len(rep.Sections) != 2 || rep.Sections[0].Backend != "dogpile.cache.memory" || len(rep.Memoization) != 2 {
		t.Fatalf("json: exit %d: %s", code, out)
	}
	// A file with no cache configuration says so.
	none := writeFile(t, "none.conf", "[DEFAULT]\ndebug = true\n")
	out, _, code = runApp(t, a, "config", "check", none)
	if code != 0 || !strings.Contains(out, "no cache configuration") {
		t.Fatalf("no cache configuration: exit %d: %s", code, out)
	}
	if _, errOut, code := runApp(t, a, "config", "check", none+".missing"); code != ExitError || !strings.Contains(errOut, "not found") {
		t.Fatalf("missing file: exit %d: %s", code, errOut)
	}
}
