package oslocache

import (
	"errors"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/dogpile-go/dogpile/proxies/logging"
	"github.com/dogpile-go/dogpile/region"
)

// NullBackend is the backend a region gets when [cache] enabled is false:
// it stores nothing, so every call goes to its creator.
const NullBackend = "dogpile.cache.null"

// RegionSettings is what a [cache] section makes of a region, as
// oslo.cache's _build_cache_config and configure_cache_region make it:
// the backend, its arguments, the expiration, the proxies. Apply gives them
// to a region; ConfigureCacheRegion does both.
type RegionSettings struct {
	// Backend is the registered backend name the region is configured
	// with: [cache] backend, or NullBackend when caching is disabled.
	Backend string
	// ConfiguredBackend is [cache] backend as written (or its default).
	ConfiguredBackend string
	// Enabled is [cache] enabled.
	Enabled bool
	// ExpirationTime is [cache] expiration_time (zero: none).
	ExpirationTime time.Duration
	// Arguments are the backend's arguments, typed as dogpile.cache's
	// backends take them: url a []string of servers, durations in
	// seconds (int or float64), tls_context a *tls.Config,
	// socket_keepalive a net.KeepAliveConfig (pymemcache) or a bool
	// (Redis, with socket_keepalive_options a net.KeepAliveConfig),
	// connection_kwargs a map[string]any.
	Arguments region.Arguments
	// Proxies are registered proxy names, the outermost first: [cache]
	// proxies in reverse (oslo.cache wraps the region with each in turn),
	// then the logging proxy when debug_cache_backend is true.
	Proxies []string
	// Notes are the options the file sets that have no effect with this
	// configuration, and why (as oslo.cache would ignore them too).
	Notes []Note

	// origins are the [cache] options each argument was made from, so
	// that Apply can blame the option and line for an argument the
	// backend refuses.
	origins map[string]argOrigin
}

// argOrigin is the option (and line) an argument was made from, and the
// value it was given.
type argOrigin struct {
	option string
	pos    Pos
	text   string // the option's value as written
	value  any    // the argument's value as mapped
}

// Note is an option that is accepted but has no effect, and why.
type Note struct {
	Pos    Pos
	Option string
	Text   string
}

// String returns "file:line: [cache] option: text".
func (n Note) String() string {
	where := n.Pos.String()
	if where != "" {
		where += ": "
	}
	return fmt.Sprintf("%s[cache] %s: %s", where, n.Option, n.Text)
}

// Backend families, by what dogpile.cache and oslo.cache make of their
// options.
var (
	// pythonMemcachedBackends use python-memcached (dead_retry,
	// socket_timeout, inet6: addresses).
	pythonMemcachedBackends = []string{"dogpile.cache.memcached", "oslo_cache.memcache_pool"}
	memcacheBackends        = []string{"dogpile.cache.memcached", "oslo_cache.memcache_pool", "dogpile.cache.pymemcache", "dogpile.cache.pylibmc", "dogpile.cache.bmemcached"}
	redisBackends           = []string{"dogpile.cache.redis", "dogpile.cache.redis_sentinel"}
	// tlsBackends take tls_enabled (newer oslo.cache refuses it for the
	// others).
	tlsBackends = []string{"dogpile.cache.pymemcache", "oslo_cache.memcache_pool", "dogpile.cache.bmemcached", "dogpile.cache.redis", "dogpile.cache.redis_sentinel"}
)

// RegionSettings maps the [cache] section to a region's settings, doing
// what oslo.cache's _build_cache_config and configure_cache_region do,
// without building anything: files (TLS certificates) are read, servers
// are not contacted. Every problem is reported, each as an *OptionError
// naming the option and the line, joined (errors.Join). On error the
// returned settings are what could be worked out, for reports.
func (c *Config) RegionSettings() (*RegionSettings, error) {
	m := &mapper{c: c, used: map[string]bool{}, argFrom: map[string]Pos{}, origins: map[string]argOrigin{}}
	m.run()
	return m.s, errors.Join(m.errs...)
}

// mapper builds RegionSettings.
type mapper struct {
	c       *Config
	s       *RegionSettings
	backend string
	errs    []error
	used    map[string]bool // options that took effect (or were judged)
	args    region.Arguments
	argFrom map[string]Pos       // backend_argument lines, by argument name
	origins map[string]argOrigin // every argument's option, by argument name
}

func (m *mapper) opt(name string) *optValue { return m.c.cache[name] }

// use marks options as taking effect and returns the first one's value.
func (m *mapper) use(names ...string) *optValue {
	for _, n := range names {
		m.used[n] = true
	}
	return m.opt(names[0])
}

func (m *mapper) fail(kind error, option, format string, args ...any) {
	ov := m.opt(option)
	pos, value := Pos{}, ""
	if ov != nil {
		pos, value = ov.pos, ov.text
	}
	if ov == nil || !ov.set {
		// A default is at fault: point at the backend line, which chose it.
		pos = m.opt("backend").pos
	}
	m.errs = append(m.errs, &OptionError{Pos: pos, Section: cacheSection, Option: option, Value: value, Kind: kind, Msg: fmt.Sprintf(format, args...)})
}

func (m *mapper) note(option string, pos Pos, format string, args ...any) {
	m.s.Notes = append(m.s.Notes, Note{Pos: pos, Option: option, Text: fmt.Sprintf(format, args...)})
}

// setArg sets a backend argument from an option, noting a backend_argument
// of the same name it replaces (oslo.cache's options win over
// backend_argument, except for url).
func (m *mapper) setArg(name string, v any, option string) {
	if pos, ok := m.argFrom[name]; ok {
		m.note("backend_argument", pos, "%s is replaced by [cache] %s, as oslo.cache does", name, option)
		delete(m.argFrom, name)
	}
	ov := m.opt(option)
	pos, text := ov.pos, ov.text
	if !ov.set {
		pos, text = m.opt("backend").pos, "" // a default: chosen by the backend line
	}
	m.setArgFrom(name, v, argOrigin{option: option, pos: pos, text: text})
}

// setArgFrom sets a backend argument and remembers where it came from.
func (m *mapper) setArgFrom(name string, v any, from argOrigin) {
	from.value = v
	m.args[name] = v
	m.origins[name] = from
}

func (m *mapper) run() {
	c := m.c
	m.backend = c.Backend()
	m.args = region.Arguments{}
	m.s = &RegionSettings{ConfiguredBackend: m.backend, Enabled: c.Enabled(), ExpirationTime: c.ExpirationTime()}
	m.use("backend", "enabled", "expiration_time")
	if why, ok := unsupportedBackends[m.backend]; ok {
		m.fail(ErrUnsupported, "backend", "%s: %s", m.backend, why)
	}
	m.backendArguments()
	switch {
	case slices.Contains(memcacheBackends, m.backend):
		m.memcached()
	case slices.Contains(redisBackends, m.backend):
		m.redis()
	}
	m.backendExpiration()
	m.tls()
	m.keepalive()
	m.retryClient()
	m.proxies()
	if ov := m.use("config_prefix"); ov.set {
		m.note("config_prefix", ov.pos, "no effect in Go: the arguments go to the backend directly, not through a configuration dictionary keyed by this prefix")
	}
	m.unused()
	m.s.Arguments = m.args
	m.s.origins = m.origins
	m.s.Backend = m.backend
	if !m.s.Enabled {
		m.disabled()
	}
}

// disabled switches the region to the null backend, as oslo.cache does
// when enabled is false. oslo.cache still builds (and checks) the
// configured backend's arguments; errors for what Go does not support are
// moot then, and become notes.
func (m *mapper) disabled() {
	m.s.Backend = NullBackend
	m.s.Arguments = region.Arguments{}
	m.s.origins = nil
	kept := m.errs[:0]
	for _, err := range m.errs {
		var oe *OptionError
		if errors.As(err, &oe) && oe.Kind == ErrUnsupported {
			m.s.Notes = append(m.s.Notes, Note{Pos: oe.Pos, Option: oe.Option, Text: oe.Msg + " (no matter while caching is disabled)"})
			continue
		}
		kept = append(kept, err)
	}
	m.errs = kept
	pos := m.opt("enabled").pos
	if pos.IsZero() {
		pos = Pos{File: m.c.file.name}
	}
	text := fmt.Sprintf("caching is disabled: the region gets %s (every call goes to its creator)", NullBackend)
	if m.backend != NullBackend {
		text += fmt.Sprintf(" instead of %s and its arguments", m.backend)
	}
	m.note("enabled", pos, "%s", text)
}

// backendArguments reads the backend_argument lines: name:value, values
// coerced as dogpile.cache's configure_from_config coerces them, url split
// at commas for the memcached backends.
func (m *mapper) backendArguments() {
	ov := m.use("backend_argument")
	for _, it := range ov.items {
		if strings.TrimSpace(it.text) == "" {
			m.note("backend_argument", it.pos, "empty: skipped, as oslo.cache skips it")
			continue
		}
		name, value, ok := strings.Cut(it.text, ":")
		name = strings.TrimSpace(name)
		if !ok || name == "" {
			m.errs = append(m.errs, &OptionError{Pos: it.pos, Section: cacheSection, Option: "backend_argument", Value: it.text, Kind: ErrBadValue,
				Msg: fmt.Sprintf("cannot use %q: want name:value, for example url:127.0.0.1:11211 (oslo.cache logs and skips such a line; it is refused here so that it is not lost)", it.text)})
			continue
		}
		if prev, dup := m.argFrom[name]; dup {
			m.note("backend_argument", prev, "%s is set again at line %d, which wins", name, it.pos.Line)
		}
		m.argFrom[name] = it.pos
		if name == "url" && slices.Contains(memcacheBackends, m.backend) {
			servers, err := memcacheServers(parseList(value), m.backend)
			if err != nil {
				m.errs = append(m.errs, &OptionError{Pos: it.pos, Section: cacheSection, Option: "backend_argument", Value: it.text, Kind: ErrBadValue, Msg: "url: " + err.Error()})
				continue
			}
			m.setArgFrom(name, servers, argOrigin{option: "backend_argument", pos: it.pos, text: it.text})
			continue
		}
		m.setArgFrom(name, region.CoerceString(value), argOrigin{option: "backend_argument", pos: it.pos, text: it.text})
	}
}

// firstSet returns the first of names the file sets, else the first
// name; the others that are set are noted as overridden.
func (m *mapper) firstSet(names ...string) (string, *optValue) {
	chosen := ""
	for _, n := range names {
		m.used[n] = true
		if !m.opt(n).set {
			continue
		}
		if chosen == "" {
			chosen = n
			continue
		}
		m.note(n, m.opt(n).pos, "overridden by %s (line %d), its newer name", chosen, m.opt(chosen).pos.Line)
	}
	if chosen == "" {
		chosen = names[0]
	}
	return chosen, m.opt(chosen)
}

// need returns an option's value, reporting an option set empty (None),
// which the backend could not use.
func (m *mapper) need(name string, ov *optValue) (any, bool) {
	if ov.v == nil {
		m.fail(ErrBadValue, name, "empty value: give a value or remove the line")
		return nil, false
	}
	return ov.v, true
}

func (m *mapper) memcached() {
	if _, ok := m.args["url"]; ok {
		if ov := m.opt("memcache_servers"); ov.set {
			m.used["memcache_servers"] = true
			m.note("memcache_servers", ov.pos, "backend_argument url (line %d) takes precedence, as in oslo.cache", m.argFrom["url"].Line)
		}
	} else {
		ov := m.use("memcache_servers")
		servers, err := memcacheServers(ov.v.([]string), m.backend)
		if err != nil {
			m.fail(ErrBadValue, "memcache_servers", "%v", err)
		} else {
			m.setArg("url", servers, "memcache_servers")
		}
	}
	pythonMemcached := slices.Contains(pythonMemcachedBackends, m.backend)
	if pythonMemcached {
		if v, ok := m.need("memcache_dead_retry", m.use("memcache_dead_retry")); ok {
			m.setArg("dead_retry", int(v.(int64)), "memcache_dead_retry")
		}
		name, ov := m.firstSet("socket_timeout", "memcache_socket_timeout", "redis_socket_timeout")
		if v, ok := m.need(name, ov); ok {
			m.setArg("socket_timeout", v, name)
		}
	}
	if m.backend == "oslo_cache.memcache_pool" {
		for _, o := range []string{"memcache_pool_maxsize", "memcache_pool_unused_timeout", "memcache_pool_connection_get_timeout"} {
			if v, ok := m.need(o, m.use(o)); ok {
				m.setArg(strings.TrimPrefix(o, "memcache_"), int(v.(int64)), o)
			}
		}
		// Passed, as oslo.cache passes them, but the Go pool has no such
		// settings.
		for _, o := range []string{"memcache_pool_unused_timeout", "memcache_pool_connection_get_timeout"} {
			if ov := m.opt(o); ov.set {
				m.note(o, ov.pos, "passed as %s, which has no effect in Go: gomemcache keeps idle connections until they fail and never waits for a free one", strings.TrimPrefix(o, "memcache_"))
			}
		}
		m.setArg("pool_flush_on_reconnect", m.use("memcache_pool_flush_on_reconnect").v, "memcache_pool_flush_on_reconnect")
		if m.use("memcache_sasl_enabled").v == true {
			m.fail(ErrUnsupported, "memcache_sasl_enabled",
				"SASL authentication needs memcached's binary protocol, which no well-kept Go memcached client speaks (bradfitz/gomemcache speaks the text protocol); use TLS client certificates (tls_certfile) or a private network instead")
		}
	}
	if m.backend == "dogpile.cache.bmemcached" {
		for _, pair := range [][]string{{"username", "memcache_username", "redis_username"}, {"password", "memcache_password", "redis_password"}} {
			name, ov := m.firstSet(pair...)
			if s, _ := ov.v.(string); s != "" {
				m.setArg(pair[0], s, name)
			}
		}
	}
}

func (m *mapper) redis() {
	name, ov := m.firstSet("socket_timeout", "redis_socket_timeout", "memcache_socket_timeout")
	if v, ok := m.need(name, ov); ok {
		m.setArg("socket_timeout", v, name)
	}
	if _, hasURL := m.args["url"]; hasURL && m.backend != "dogpile.cache.redis_sentinel" {
		// oslo.cache builds the url from these only when backend_argument
		// gives none, and dogpile.cache drops a db or credential next to
		// a url.
		for _, names := range [][]string{{"redis_server"}, {"redis_db"}, {"username", "redis_username", "memcache_username"}, {"password", "redis_password", "memcache_password"}} {
			name, ov := m.firstSet(names...)
			if ov.set {
				m.note(name, ov.pos, "backend_argument url (line %d) takes precedence, as in oslo.cache and dogpile.cache", m.argFrom["url"].Line)
			}
		}
		return
	}
	for _, pair := range [][]string{{"username", "redis_username", "memcache_username"}, {"password", "redis_password", "memcache_password"}} {
		name, ov := m.firstSet(pair...)
		if s, _ := ov.v.(string); s != "" {
			m.setArg(pair[0], s, name)
		}
	}
	if v, ok := m.need("redis_db", m.use("redis_db")); ok {
		m.setArg("db", int(v.(int64)), "redis_db")
	}
	if m.backend == "dogpile.cache.redis_sentinel" {
		m.setArg("service_name", m.use("redis_sentinel_service_name").v, "redis_sentinel_service_name")
		ov := m.use("redis_sentinels")
		var sentinels []string
		for _, s := range ov.v.([]string) {
			host, port, err := parseHostPort(s, 0)
			if err == nil && port == 0 {
				err = errors.New("a port is required")
			}
			if err != nil {
				m.fail(ErrBadValue, "redis_sentinels", "malformed sentinel server %q: %v", s, err)
				continue
			}
			sentinels = append(sentinels, net.JoinHostPort(host, strconv.Itoa(port)))
		}
		if len(sentinels) > 0 {
			m.setArg("sentinels", sentinels, "redis_sentinels")
		}
		return
	}
	ov = m.use("redis_server")
	host, port, err := parseHostPort(ov.v.(string), 6379)
	if err != nil {
		m.fail(ErrBadValue, "redis_server", "cannot use %q: %v", ov.text, err)
		return
	}
	m.setArg("host", host, "redis_server")
	m.setArg("port", port, "redis_server")
}

// backendExpiration maps backend_expiration_time as newer oslo.cache does.
func (m *mapper) backendExpiration() {
	ov := m.use("backend_expiration_time")
	if ov.v == nil {
		return
	}
	bet := ov.v.(int64)
	if exp := m.opt("expiration_time").v; exp != nil && exp.(int64) > bet {
		m.fail(ErrBadValue, "backend_expiration_time", "%d is smaller than expiration_time (%d): the backend would drop values the region still serves", bet, exp)
		return
	}
	switch {
	case slices.Contains(memcacheBackends, m.backend) && m.backend != "dogpile.cache.bmemcached":
		m.setArg("memcached_expire_time", int(bet), "backend_expiration_time")
	case slices.Contains(redisBackends, m.backend):
		m.setArg("redis_expiration_time", int(bet), "backend_expiration_time")
	default:
		m.fail(ErrBadValue, "backend_expiration_time", "not supported by the %s backend (oslo.cache refuses it too): only the memcached and Redis backends expire values themselves", m.backend)
	}
}

var retryOptions = []string{"retry_attempts", "retry_delay", "hashclient_retry_attempts", "hashclient_retry_timeout", "hashclient_retry_delay", "hashclient_dead_timeout", "dead_timeout"}

func (m *mapper) retryClient() {
	if m.use("enable_retry_client").v != true {
		m.unusedUnless("enable_retry_client is false (oslo.cache passes it to pymemcache only with the retrying client)", retryOptions...)
		return
	}
	if m.backend != "dogpile.cache.pymemcache" {
		m.fail(ErrBadValue, "enable_retry_client", "the retry client is only supported by the dogpile.cache.pymemcache backend, not %s", m.backend)
		for _, o := range retryOptions {
			m.used[o] = true
		}
		return
	}
	m.setArg("enable_retry_client", true, "enable_retry_client")
	for _, arg := range [][]string{
		{"retry_attempts", "retry_attempts"},
		{"retry_delay", "retry_delay"},
		{"hashclient_retry_attempts", "hashclient_retry_attempts"},
		{"hashclient_retry_timeout", "hashclient_retry_timeout", "hashclient_retry_delay"},
		{"hashclient_dead_timeout", "hashclient_dead_timeout", "dead_timeout"},
	} {
		name, ov := m.firstSet(arg[1:]...)
		v, ok := m.need(name, ov)
		if !ok {
			continue
		}
		if n, isInt := v.(int64); isInt {
			v = int(n)
		}
		m.setArg(arg[0], v, name)
	}
}

func (m *mapper) proxies() {
	ov := m.use("proxies")
	registered := region.RegisteredProxies()
	for i := len(ov.v.([]string)) - 1; i >= 0; i-- {
		name := ov.v.([]string)[i]
		if name == "" {
			continue
		}
		if !slices.Contains(registered, name) {
			m.fail(ErrBadValue, "proxies", "%q is not a registered proxy (registered: %s); a Python class path has no Go meaning: register a Go proxy under that name with region.RegisterProxy", name, strings.Join(registered, ", "))
			continue
		}
		m.s.Proxies = append(m.s.Proxies, name)
	}
	if m.use("debug_cache_backend").v == true {
		m.s.Proxies = append(m.s.Proxies, logging.ProxyName)
	}
}

// unusedUnless notes the options set that have no effect, for the reason
// given.
func (m *mapper) unusedUnless(why string, options ...string) {
	for _, o := range options {
		if ov := m.opt(o); ov.set && !m.used[o] {
			m.used[o] = true
			m.note(o, ov.pos, "no effect: %s", why)
		}
	}
}

// unused notes every option the file sets that took no effect with this
// backend: oslo.cache passes it (or not) and the Python backend ignores
// it.
func (m *mapper) unused() {
	for _, d := range cacheOptions {
		ov := m.opt(d.name)
		if !ov.set || m.used[d.name] {
			continue
		}
		if d.alias != "" && m.opt(d.alias).set {
			m.note(d.name, ov.pos, "overridden by %s (line %d), its newer name", d.alias, m.opt(d.alias).pos.Line)
			continue
		}
		m.note(d.name, ov.pos, "no effect with the %s backend (%s)", m.backend, d.use)
	}
}
