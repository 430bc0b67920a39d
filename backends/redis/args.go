package redis

import (
	"crypto/tls"
	"encoding/json"
	"fmt"
	"maps"
	"net"
	"net/url"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/dogpile-go/dogpile/region"
)

// The backends' registered names.
const (
	// Name is dogpile.cache's RedisBackend: one Redis server.
	Name = "dogpile.cache.redis"
	// SentinelName is dogpile.cache's RedisSentinelBackend: the master
	// that Redis Sentinels name.
	SentinelName = "dogpile.cache.redis_sentinel"
	// ClusterName is dogpile.cache's RedisClusterBackend: a Redis Cluster.
	ClusterName = "dogpile.cache.redis_cluster"
)

// Defaults of the arguments, as dogpile.cache and redis-py have them.
const (
	DefaultHost         = "localhost"
	DefaultPort         = 6379
	DefaultServiceName  = "mymaster" // redis_sentinel's service_name
	DefaultSentinelPort = 26379      // a sentinels entry without a port
	DefaultLockSleep    = 100 * time.Millisecond
)

// commonArguments are the arguments of all three backends.
var commonArguments = []string{
	"url", "host", "port", "db", "username", "password",
	"socket_timeout", "socket_connect_timeout", "socket_keepalive", "socket_keepalive_options", "ssl",
	"redis_expiration_time",
	"distributed_lock", "lock_timeout", "lock_sleep", "lock_blocking", "lock_blocking_timeout", "thread_local_lock",
	"connection_kwargs", "connection_pool",
	"client",
}

// backendArguments are the arguments each backend knows.
var backendArguments = map[string][]string{
	Name:         commonArguments,
	SentinelName: append(slices.Clone(commonArguments), "sentinels", "service_name", "sentinel_kwargs"),
	ClusterName:  append(slices.Clone(commonArguments), "startup_nodes"),
}

// connection_kwargs entries: those honoured, and those refused by name
// with the reason. Anything else is an unknown argument.
var (
	connectionKwargs = []string{
		"username", "password", "db", "host", "port",
		"socket_timeout", "socket_connect_timeout", "socket_keepalive", "socket_keepalive_options",
		"ssl", "ssl_keyfile", "ssl_certfile", "ssl_cert_reqs", "ssl_ca_certs", "ssl_ca_data", "ssl_ca_path", "ssl_check_hostname", "ssl_ciphers",
		"client_name", "max_connections",
		"encoding", "encoding_errors", "decode_responses", "retry_on_timeout", "health_check_interval",
		"read_from_replicas",
	}
	refusedKwargs = map[string]string{
		"connection_class":          "it is a redis-py class, a Python object",
		"connection_pool":           "it is a redis-py ConnectionPool, a Python object; pass a go-redis client as the argument \"client\" instead",
		"retry":                     "it is a redis-py Retry object, a Python object; the backend does not retry failed commands",
		"retry_on_error":            "it is a list of Python exception classes; the backend does not retry failed commands",
		"ssl_context":               "it is a Python ssl.SSLContext object; give ssl_certfile, ssl_keyfile, ssl_ca_certs instead",
		"ssl_password":              "encrypted private keys are not supported; give ssl_keyfile unencrypted",
		"ssl_validate_ocsp":         "OCSP validation is not supported",
		"ssl_validate_ocsp_stapled": "OCSP validation is not supported",
		"ssl_ocsp_context":          "OCSP validation is not supported",
		"ssl_ocsp_expected_cert":    "OCSP validation is not supported",
		"credential_provider":       "it is a Python object",
		"redis_connect_func":        "it is a Python function",
		"unix_socket_path":          "give url=unix:///path/to/socket instead",
		"socket_type":               "it is a Python socket constant",
		"single_connection_client":  "not supported: connections are pooled",
		"lib_name":                  "not supported",
		"lib_version":               "not supported",
	}
	// sentinelKwargs are the sentinel_kwargs entries honoured.
	sentinelKwargs = []string{
		"username", "password", "db",
		"socket_timeout", "socket_connect_timeout", "socket_keepalive", "socket_keepalive_options",
		"ssl", "ssl_keyfile", "ssl_certfile", "ssl_cert_reqs", "ssl_ca_certs", "ssl_ca_data", "ssl_ca_path", "ssl_check_hostname", "ssl_ciphers",
		"client_name", "encoding", "encoding_errors", "decode_responses", "retry_on_timeout", "health_check_interval",
	}
)

// RefusedArgumentError reports an argument that dogpile.cache (or redis-py)
// takes but that a Go backend cannot honour (a Python object, say), or one
// that dogpile.cache would silently ignore next to another (host next to
// url). It matches region.ErrBadArgument.
type RefusedArgumentError struct {
	Name   string // the argument, e.g. "connection_pool" or "connection_kwargs.retry"
	Reason string // why, and what to give instead
}

// Error names the argument and says why it is refused.
func (e *RefusedArgumentError) Error() string {
	return fmt.Sprintf("argument %q refused: %s", e.Name, e.Reason)
}

// Is makes errors.Is(err, region.ErrBadArgument) true.
func (e *RefusedArgumentError) Is(target error) bool { return target == region.ErrBadArgument }

// settings collects connection settings from the places dogpile.cache and
// redis-py take them (top-level arguments, connection_kwargs, the url and
// its query). Where Python would let one silently override another, a
// setting given twice with different values is an error naming both.
type settings struct {
	values  map[string]any
	origins map[string]string
}

func newSettings() *settings {
	return &settings{values: map[string]any{}, origins: map[string]string{}}
}

// set records name = v from origin, refusing a different earlier value.
func (s *settings) set(name string, v any, origin string) error {
	if old, ok := s.values[name]; ok && !sameValue(old, v) {
		return &region.ArgumentError{Name: name, Value: v,
			Want: fmt.Sprintf("one value: %s gives %#v, %s gives %#v", s.origins[name], old, origin, v)}
	}
	s.values[name], s.origins[name] = v, origin
	return nil
}

// sameValue reports whether two settings are the same value, numbers and
// config-file strings compared by what they spell (2, 2.0 and "2" agree).
func sameValue(a, b any) bool {
	if reflect.DeepEqual(a, b) {
		return true
	}
	fa, errA := region.Arguments{"": a}.Float("", 0)
	fb, errB := region.Arguments{"": b}.Float("", 0)
	if errA == nil && errB == nil {
		return fa == fb
	}
	ba, errA := region.Arguments{"": a}.Bool("", false)
	bb, errB := region.Arguments{"": b}.Bool("", false)
	return errA == nil && errB == nil && ba == bb
}

func (s *settings) has(name string) bool { _, ok := s.values[name]; return ok }

// args returns the collected settings as Arguments, for the typed getters.
func (s *settings) args() region.Arguments { return region.Arguments(s.values) }

// origin names where a setting came from, for errors.
func (s *settings) origin(name string) string { return s.origins[name] }

// config is a backend's parsed arguments.
type config struct {
	backend string

	// Exactly one of client, nodes (cluster), sentinels, addr is the
	// connection target.
	client    goredis.UniversalClient
	network   string // "tcp" or "unix"
	addr      string // host:port or socket path (Name)
	nodes     []string
	sentinels []string
	service   string

	conn     connConfig
	sentinel connConfig // sentinel_kwargs over conn (SentinelName)

	readFromReplicas bool

	expiration time.Duration

	distributedLock     bool
	lockTimeout         time.Duration
	lockSleep           time.Duration
	lockBlockingTimeout time.Duration
}

// connConfig are the settings of connections to one kind of server.
type connConfig struct {
	db                 int
	username, password string
	socketTimeout      time.Duration // 0: none
	connectTimeout     time.Duration // 0: socketTimeout, else defaultDialTimeout
	keepalive          bool
	keepaliveConfig    net.KeepAliveConfig
	tls                *tls.Config // nil: no TLS; built (files read) once, when the arguments are read
	clientName         string
	poolSize           int // 0: go-redis's default
}

// parseConfig reads the arguments of backend.
func parseConfig(backend string, args region.Arguments) (*config, error) {
	if err := args.CheckKnown(backend, backendArguments[backend]...); err != nil {
		return nil, err
	}
	if args.Has("connection_pool") {
		return nil, &RefusedArgumentError{Name: "connection_pool",
			Reason: "it is a redis-py ConnectionPool, a Python object; pass a go-redis client (redis.UniversalClient) as the argument \"client\" instead"}
	}
	c := &config{backend: backend}
	var err error
	if err = c.parseLock(args); err != nil {
		return nil, err
	}
	if c.expiration, err = args.Duration("redis_expiration_time", 0); err != nil {
		return nil, err
	}
	if c.expiration%time.Second != 0 {
		return nil, &region.ArgumentError{Name: "redis_expiration_time", Value: args["redis_expiration_time"],
			Want: "a whole number of seconds (Redis SETEX takes seconds)"}
	}
	if _, err := args.Bool("thread_local_lock", true); err != nil {
		return nil, err
	}
	if _, err := args.Bool("lock_blocking", true); err != nil {
		return nil, err
	}
	if v, ok := args["client"]; ok && v != nil {
		return c, c.useClient(args, v)
	}
	switch backend {
	case SentinelName:
		err = c.parseSentinel(args)
	case ClusterName:
		err = c.parseCluster(args)
	default:
		err = c.parseSingle(args)
	}
	if err != nil {
		return nil, err
	}
	return c, nil
}

// connectionArguments are the arguments that describe a connection, all
// meaningless next to a client.
var connectionArguments = []string{
	"url", "host", "port", "db", "username", "password",
	"socket_timeout", "socket_connect_timeout", "socket_keepalive", "socket_keepalive_options", "ssl",
	"connection_kwargs", "sentinels", "service_name", "sentinel_kwargs", "startup_nodes",
}

// useClient takes the Go-specific "client" argument: a go-redis client the
// program built itself.
func (c *config) useClient(args region.Arguments, v any) error {
	client, ok := v.(goredis.UniversalClient)
	if !ok || isNil(v) {
		return &region.ArgumentError{Name: "client", Value: v, Want: "a go-redis client (a redis.UniversalClient: *redis.Client, *redis.ClusterClient, ...)"}
	}
	for _, n := range connectionArguments {
		if args.Has(n) {
			return &RefusedArgumentError{Name: n, Reason: "the client given as \"client\" has its own connection options"}
		}
	}
	c.client = client
	return nil
}

// isNil reports whether v is nil or a nil pointer (or other nil-able kind).
func isNil(v any) bool {
	if v == nil {
		return true
	}
	switch rv := reflect.ValueOf(v); rv.Kind() {
	case reflect.Pointer, reflect.Map, reflect.Slice, reflect.Func, reflect.Interface, reflect.Chan:
		return rv.IsNil()
	}
	return false
}

func (c *config) parseLock(args region.Arguments) error {
	def := c.backend == SentinelName // redis_sentinel turns it on by default
	var err error
	if c.distributedLock, err = args.Bool("distributed_lock", def); err != nil {
		return err
	}
	if c.lockTimeout, err = args.Duration("lock_timeout", 0); err != nil {
		return err
	}
	if c.lockSleep, err = args.Duration("lock_sleep", DefaultLockSleep); err != nil {
		return err
	}
	if c.lockSleep <= 0 {
		return &region.ArgumentError{Name: "lock_sleep", Value: args["lock_sleep"], Want: "a positive number of seconds"}
	}
	if c.lockBlockingTimeout, err = args.Duration("lock_blocking_timeout", 0); err != nil {
		return err
	}
	return nil
}

// kwargs reads a dict argument (connection_kwargs, sentinel_kwargs): a map,
// or a JSON object in a string (from a configuration file).
func kwargs(args region.Arguments, name string) (region.Arguments, error) {
	v, ok := args[name]
	if !ok || v == nil {
		return region.Arguments{}, nil
	}
	switch m := v.(type) {
	case map[string]any:
		return region.Arguments(m), nil
	case region.Arguments:
		return m, nil
	case map[string]string:
		out := region.Arguments{}
		for k, s := range m {
			out[k] = region.CoerceString(s)
		}
		return out, nil
	case string:
		var out map[string]any
		if strings.TrimSpace(m) == "" {
			return region.Arguments{}, nil
		}
		if err := json.Unmarshal([]byte(m), &out); err != nil {
			return nil, &region.ArgumentError{Name: name, Value: v, Want: "a map, or a JSON object such as {\"ssl\": true}", Err: err}
		}
		return region.Arguments(out), nil
	}
	return nil, &region.ArgumentError{Name: name, Value: v, Want: "a map of connection arguments"}
}

// checkKwargs refuses kwargs entries outside known, naming Python-only
// ones with the reason.
func checkKwargs(backend, name string, kw region.Arguments, known []string) error {
	for _, k := range slices.Sorted(maps.Keys(kw)) {
		if why, ok := refusedKwargs[k]; ok {
			return &RefusedArgumentError{Name: name + "." + k, Reason: why}
		}
	}
	if err := kw.CheckKnown(backend, known...); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	return nil
}

// connectionFields are the settings read into a connConfig, with the
// arguments that give them.
var connectionFields = []string{
	"username", "password", "db",
	"socket_timeout", "socket_connect_timeout", "socket_keepalive", "socket_keepalive_options",
	"ssl", "ssl_keyfile", "ssl_certfile", "ssl_cert_reqs", "ssl_ca_certs", "ssl_ca_data", "ssl_ca_path", "ssl_check_hostname", "ssl_ciphers",
	"client_name", "max_connections",
	"encoding", "encoding_errors", "decode_responses", "retry_on_timeout", "health_check_interval",
}

// collect adds the named top-level arguments and the entries of kw to s.
func collect(s *settings, args region.Arguments, top []string, kwName string, kw region.Arguments) error {
	for _, n := range top {
		if args.Has(n) {
			if err := s.set(n, args[n], n); err != nil {
				return err
			}
		}
	}
	for _, k := range slices.Sorted(maps.Keys(kw)) {
		if kw[k] == nil {
			continue
		}
		if err := s.set(k, kw[k], kwName+"."+k); err != nil {
			return err
		}
	}
	return nil
}

// readConn turns collected settings into a connConfig.
func readConn(s *settings) (connConfig, error) {
	a := s.args()
	var cc connConfig
	var err error
	bad := func(name, want string) error {
		return &region.ArgumentError{Name: s.origin(name), Value: a[name], Want: want}
	}
	if cc.db, err = a.Int("db", 0); err != nil {
		return cc, bad("db", "a database number")
	}
	if cc.db < 0 {
		return cc, bad("db", "a database number of zero or more")
	}
	if cc.username, err = a.String("username", ""); err != nil {
		return cc, bad("username", "a string")
	}
	if cc.password, err = a.String("password", ""); err != nil {
		return cc, bad("password", "a string")
	}
	if cc.socketTimeout, err = a.Duration("socket_timeout", 0); err != nil {
		return cc, bad("socket_timeout", "a number of seconds")
	}
	if cc.connectTimeout, err = a.Duration("socket_connect_timeout", 0); err != nil {
		return cc, bad("socket_connect_timeout", "a number of seconds")
	}
	if cc.keepalive, err = a.Bool("socket_keepalive", false); err != nil {
		return cc, bad("socket_keepalive", "a boolean")
	}
	if s.has("socket_keepalive_options") {
		if cc.keepaliveConfig, err = keepaliveOptions(a["socket_keepalive_options"]); err != nil {
			return cc, &region.ArgumentError{Name: s.origin("socket_keepalive_options"), Value: a["socket_keepalive_options"],
				Want: "a net.KeepAliveConfig, or a map of TCP_KEEPIDLE, TCP_KEEPINTVL and TCP_KEEPCNT (or their Linux numbers 4, 5, 6) to integers", Err: err}
		}
	}
	if cc.tls, err = readTLS(s); err != nil {
		return cc, err
	}
	if cc.clientName, err = a.String("client_name", ""); err != nil {
		return cc, bad("client_name", "a string")
	}
	if cc.poolSize, err = a.Int("max_connections", 0); err != nil || cc.poolSize < 0 {
		return cc, bad("max_connections", "a number of connections")
	}
	// Settings accepted only at the value that keeps dogpile's behaviour.
	if v, _ := a.String("encoding", "utf-8"); !strings.EqualFold(strings.ReplaceAll(v, "_", "-"), "utf-8") && !strings.EqualFold(v, "utf8") {
		return cc, bad("encoding", `"utf-8": keys are sent as UTF-8 bytes`)
	}
	if v, _ := a.String("encoding_errors", "strict"); v != "strict" {
		return cc, bad("encoding_errors", `"strict"`)
	}
	if v, err := a.Bool("decode_responses", false); err != nil || v {
		return cc, bad("decode_responses", "false: dogpile.cache's Redis backends store bytes")
	}
	if v, err := a.Bool("retry_on_timeout", false); err != nil || v {
		return cc, bad("retry_on_timeout", "false: the backend does not retry timed-out commands")
	}
	if v, err := a.Duration("health_check_interval", 0); err != nil || v != 0 {
		return cc, bad("health_check_interval", "0: go-redis checks pooled connections itself")
	}
	return cc, nil
}

// keepaliveOptions reads socket_keepalive_options: a net.KeepAliveConfig
// (what oslocache passes for enable_socket_keepalive), or a map as redis-py
// takes it, whose entries it passes to setsockopt(IPPROTO_TCP, key, value).
// Zero or negative fields of a net.KeepAliveConfig leave the system's
// value.
func keepaliveOptions(v any) (net.KeepAliveConfig, error) {
	switch kc := v.(type) {
	case net.KeepAliveConfig:
		return kc, nil
	case *net.KeepAliveConfig:
		if kc == nil {
			return net.KeepAliveConfig{}, fmt.Errorf("nil *net.KeepAliveConfig")
		}
		return *kc, nil
	}
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Map {
		return net.KeepAliveConfig{}, fmt.Errorf("%T is not a map", v)
	}
	var kc net.KeepAliveConfig
	for it := rv.MapRange(); it.Next(); {
		k, val := it.Key().Interface(), it.Value().Interface()
		n, err := region.Arguments{"": val}.Int("", 0)
		if err != nil || n < 0 {
			return kc, fmt.Errorf("value %#v for %v is not a non-negative integer", val, k)
		}
		switch strings.ToUpper(strings.TrimPrefix(strings.TrimPrefix(fmt.Sprint(k), "socket."), "SOCKET.")) {
		case "TCP_KEEPIDLE", "4":
			kc.Idle = time.Duration(n) * time.Second
		case "TCP_KEEPINTVL", "5":
			kc.Interval = time.Duration(n) * time.Second
		case "TCP_KEEPCNT", "6":
			kc.Count = n
		default:
			return kc, fmt.Errorf("unknown option %v", k)
		}
	}
	return kc, nil
}

// urlDropped are the arguments dogpile.cache's RedisBackend drops next to
// url and passes over connection_kwargs without one.
var urlDropped = []string{"host", "port", "db", "username", "password"}

// kwargsOverridden says why each of urlDropped is refused in
// connection_kwargs when no url is given.
var kwargsOverridden = map[string]string{
	"host":     "dogpile.cache overrides it with its host argument (default localhost); give host as a top-level argument",
	"port":     "dogpile.cache overrides it with its port argument (default 6379); give port as a top-level argument",
	"db":       "dogpile.cache overrides it with its db argument (default 0); give db as a top-level argument",
	"password": "dogpile.cache overrides it with its password argument (default none); give password as a top-level argument",
	"username": "dogpile.cache 1.3 and later override it with their username argument (default none), 1.1 does not; " +
		"give the credentials in url (redis://user:password@host:port/db), which every version reads alike",
}

// parseSingle reads dogpile.cache.redis's target: url, or host/port/db.
// Like dogpile.cache, with url the top-level host, port, db, username and
// password are dropped, and without it they replace connection_kwargs'
// own; here either one is refused instead of dropped.
func (c *config) parseSingle(args region.Arguments) error {
	kw, err := kwargs(args, "connection_kwargs")
	if err != nil {
		return err
	}
	if err := checkKwargs(c.backend, "connection_kwargs", kw, slices.DeleteFunc(slices.Clone(connectionKwargs), func(k string) bool {
		return k == "read_from_replicas"
	})); err != nil {
		return err
	}
	rawURL, err := args.String("url", "")
	if err != nil {
		return err
	}
	for _, n := range urlDropped {
		switch {
		case rawURL != "" && args.Has(n):
			return &RefusedArgumentError{Name: n, Reason: "dogpile.cache ignores it next to url; put it in the url"}
		case rawURL == "" && kw.Has(n):
			return &RefusedArgumentError{Name: "connection_kwargs." + n, Reason: kwargsOverridden[n]}
		}
	}
	s := newSettings()
	if err := collect(s, args, connectionFields, "connection_kwargs", kw); err != nil {
		return err
	}
	if rawURL != "" {
		u, err := parseURL("url", rawURL)
		if err != nil {
			return err
		}
		if q, ok := u.readonly(); ok {
			return &RefusedArgumentError{Name: "url", Reason: "its query argument " + q + " is for " + ClusterName + " only (redis-py fails on it at the first command)"}
		}
		if err := u.addTo(s, "url"); err != nil {
			return err
		}
		c.network, c.addr = u.network, u.addr
	} else {
		host, err := args.String("host", DefaultHost)
		if err != nil {
			return err
		}
		port, err := args.Int("port", DefaultPort)
		if err != nil || port <= 0 || port > 65535 {
			return &region.ArgumentError{Name: "port", Value: args["port"], Want: "a TCP port number"}
		}
		c.network, c.addr = "tcp", net.JoinHostPort(host, strconv.Itoa(port))
	}
	c.conn, err = readConn(s)
	return err
}

// parsedURL is a redis://, rediss:// or unix:// URL as redis-py's from_url
// reads it.
type parsedURL struct {
	network, addr string
	host          string
	fields        map[string]any // username, password, db, ssl, query arguments
	readonlyQuery string         // "readonly" or "read_from_replicas" when the query gives it
}

// readonly reports the query argument (readonly or read_from_replicas)
// that asks to read from replicas, which only a cluster honours.
func (p *parsedURL) readonly() (string, bool) {
	if p.readonlyQuery == "" {
		return "", false
	}
	return p.readonlyQuery + "=" + fmt.Sprint(p.fields["read_from_replicas"]), true
}

// urlQueryArguments are the query arguments redis-py's from_url reads.
var urlQueryArguments = []string{
	"db", "socket_timeout", "socket_connect_timeout", "socket_keepalive", "retry_on_timeout",
	"max_connections", "health_check_interval", "ssl_check_hostname", "ssl_cert_reqs", "ssl_ca_certs",
	"ssl_keyfile", "ssl_certfile", "client_name", "readonly", "read_from_replicas",
}

// parseURL reads a URL the way redis-py's from_url does.
func parseURL(name, raw string) (*parsedURL, error) {
	bad := func(want string, err error) error {
		return &region.ArgumentError{Name: name, Value: raw, Want: want, Err: err}
	}
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil {
		return nil, bad("a redis://, rediss:// or unix:// URL", err)
	}
	p := &parsedURL{fields: map[string]any{}}
	if u.User != nil {
		if n := u.User.Username(); n != "" {
			p.fields["username"] = n
		}
		if pw, ok := u.User.Password(); ok && pw != "" {
			p.fields["password"] = pw
		}
	}
	q := u.Query()
	for _, k := range slices.Sorted(maps.Keys(q)) {
		if !slices.Contains(urlQueryArguments, k) {
			return nil, bad("a URL whose query arguments are among "+strings.Join(urlQueryArguments, ", "),
				fmt.Errorf("unknown query argument %q", k))
		}
		v := q.Get(k)
		if k == "readonly" || k == "read_from_replicas" {
			p.readonlyQuery = k
			k = "read_from_replicas"
		}
		p.fields[k] = region.CoerceString(v)
	}
	switch u.Scheme {
	case "redis", "rediss":
		if u.Hostname() == "" {
			return nil, bad("a URL with a host, such as redis://host:6379/0", nil)
		}
		port := u.Port()
		if port == "" {
			port = strconv.Itoa(DefaultPort)
		}
		p.network, p.host, p.addr = "tcp", u.Hostname(), net.JoinHostPort(u.Hostname(), port)
		if path := strings.TrimPrefix(u.Path, "/"); path != "" {
			db, err := strconv.Atoi(path)
			if err != nil {
				return nil, bad("a URL whose path is a database number, such as redis://host:6379/0", err)
			}
			if _, inQuery := p.fields["db"]; !inQuery {
				p.fields["db"] = db
			}
		}
		if u.Scheme == "rediss" {
			p.fields["ssl"] = true
		}
	case "unix":
		if u.Path == "" {
			return nil, bad("a unix:// URL with a socket path, such as unix:///run/redis.sock", nil)
		}
		p.network, p.addr = "unix", u.Path
	default:
		return nil, bad("a URL with scheme redis://, rediss:// or unix://", nil)
	}
	return p, nil
}

// addTo records the URL's settings in s.
func (p *parsedURL) addTo(s *settings, origin string) error {
	for _, k := range slices.Sorted(maps.Keys(p.fields)) {
		if err := s.set(k, p.fields[k], origin); err != nil {
			return err
		}
	}
	return nil
}

// sharedWithSentinels are the sentinel_kwargs entries go-redis cannot set
// apart from the servers' (FailoverOptions has one of each for both).
var sharedWithSentinels = []string{
	"socket_timeout", "socket_connect_timeout", "socket_keepalive", "socket_keepalive_options",
	"ssl", "ssl_keyfile", "ssl_certfile", "ssl_cert_reqs", "ssl_ca_certs", "ssl_ca_data", "ssl_ca_path", "ssl_check_hostname", "ssl_ciphers",
	"client_name",
}

// parseSentinel reads dogpile.cache.redis_sentinel's target: sentinels,
// service_name, sentinel_kwargs, and the master's connection settings.
func (c *config) parseSentinel(args region.Arguments) error {
	for _, n := range []string{"url", "host", "port"} {
		if args.Has(n) {
			return &RefusedArgumentError{Name: n, Reason: "dogpile.cache.redis_sentinel finds the master through sentinels and service_name"}
		}
	}
	var err error
	if c.sentinels, err = addrList(args, "sentinels", DefaultSentinelPort); err != nil {
		return err
	}
	if len(c.sentinels) == 0 {
		return &region.ArgumentError{Name: "sentinels", Value: args["sentinels"], Want: `at least one Sentinel, "host:port,host:port"`}
	}
	if c.service, err = args.String("service_name", DefaultServiceName); err != nil {
		return err
	}
	if c.service == "" {
		return &region.ArgumentError{Name: "service_name", Value: args["service_name"], Want: "a service name"}
	}
	kw, err := kwargs(args, "connection_kwargs")
	if err != nil {
		return err
	}
	if err := checkKwargs(c.backend, "connection_kwargs", kw, slices.DeleteFunc(slices.Clone(connectionKwargs), func(k string) bool {
		return k == "read_from_replicas" || k == "host" || k == "port"
	})); err != nil {
		return err
	}
	s := newSettings()
	if err := collect(s, args, connectionFields, "connection_kwargs", kw); err != nil {
		return err
	}
	if c.conn, err = readConn(s); err != nil {
		return err
	}

	skw, err := kwargs(args, "sentinel_kwargs")
	if err != nil {
		return err
	}
	if err := checkKwargs(c.backend, "sentinel_kwargs", skw, sentinelKwargs); err != nil {
		return err
	}
	ss := newSettings()
	if err := collect(ss, region.Arguments{}, nil, "sentinel_kwargs", skw); err != nil {
		return err
	}
	// As dogpile.cache does, the Sentinels get the top-level password
	// (and username, from dogpile.cache 1.3) unless sentinel_kwargs names
	// their own; connection_kwargs' credentials are the servers' alone.
	for _, n := range []string{"username", "password"} {
		if !ss.has(n) && args[n] != nil {
			_ = ss.set(n, args[n], n)
		}
	}
	if c.sentinel, err = readConn(ss); err != nil {
		return err
	}
	// go-redis connects to the Sentinels and the servers with one set of
	// timeouts and TLS settings: they must agree.
	for _, n := range sharedWithSentinels {
		if ss.has(n) && !sameValue(ss.values[n], s.values[n]) {
			return &region.ArgumentError{Name: "sentinel_kwargs." + n, Value: ss.values[n],
				Want: fmt.Sprintf("the servers' value (%#v) or nothing: go-redis uses one %s for the Sentinels and the servers", s.values[n], n)}
		}
	}
	return nil
}

// parseCluster reads dogpile.cache.redis_cluster's target: startup_nodes,
// or url (one node, or a list), or host and port.
func (c *config) parseCluster(args region.Arguments) error {
	kw, err := kwargs(args, "connection_kwargs")
	if err != nil {
		return err
	}
	if err := checkKwargs(c.backend, "connection_kwargs", kw, slices.DeleteFunc(slices.Clone(connectionKwargs), func(k string) bool {
		return k == "host" || k == "port"
	})); err != nil {
		return err
	}
	s := newSettings()
	if err := collect(s, args, connectionFields, "connection_kwargs", kw); err != nil {
		return err
	}
	if kw.Has("read_from_replicas") {
		if err := s.set("read_from_replicas", kw["read_from_replicas"], "connection_kwargs.read_from_replicas"); err != nil {
			return err
		}
	}
	urls, err := args.Strings("url", nil)
	if err != nil {
		return err
	}
	for _, raw := range urls {
		u, err := parseURL("url", raw)
		if err != nil {
			return err
		}
		if u.network != "tcp" {
			return &region.ArgumentError{Name: "url", Value: raw, Want: "redis:// or rediss:// URLs of cluster nodes"}
		}
		if err := u.addTo(s, "url"); err != nil {
			return err
		}
		c.nodes = append(c.nodes, u.addr)
	}
	nodes, err := addrList(args, "startup_nodes", DefaultPort)
	if err != nil {
		return err
	}
	c.nodes = append(c.nodes, nodes...)
	if args.Has("host") || args.Has("port") {
		if len(c.nodes) > 0 {
			return &RefusedArgumentError{Name: "host", Reason: "give the cluster's nodes in one place: url, startup_nodes, or host and port"}
		}
		host, err := args.String("host", DefaultHost)
		if err != nil {
			return err
		}
		port, err := args.Int("port", DefaultPort)
		if err != nil || port <= 0 || port > 65535 {
			return &region.ArgumentError{Name: "port", Value: args["port"], Want: "a TCP port number"}
		}
		c.nodes = []string{net.JoinHostPort(host, strconv.Itoa(port))}
	}
	if len(c.nodes) == 0 {
		return &region.ArgumentError{Name: "startup_nodes", Value: nil,
			Want: `the cluster's nodes: startup_nodes "host:port,host:port", or url "redis://host:port" (any node)`}
	}
	if c.conn, err = readConn(s); err != nil {
		return err
	}
	if c.conn.db != 0 {
		return &region.ArgumentError{Name: s.origin("db"), Value: s.values["db"], Want: "0: a Redis Cluster has only database 0"}
	}
	if c.readFromReplicas, err = s.args().Bool("read_from_replicas", false); err != nil {
		return &region.ArgumentError{Name: s.origin("read_from_replicas"), Value: s.values["read_from_replicas"], Want: "a boolean"}
	}
	return nil
}

// addrList reads a list of servers: "host:port,host:port", a list of such
// strings, a list of [host, port] pairs (as dogpile.cache's sentinels), or
// a list of {"host": ..., "port": ...} maps (as redis-py's ClusterNode
// fields). A missing port is defPort.
func addrList(args region.Arguments, name string, defPort int) ([]string, error) {
	v, ok := args[name]
	if !ok || v == nil {
		return nil, nil
	}
	bad := func(item any, err error) error {
		return &region.ArgumentError{Name: name, Value: v,
			Want: `servers as "host:port,host:port", a list of "host:port" strings or of [host, port] pairs`, Err: err}
	}
	var items []any
	switch x := v.(type) {
	case string:
		for _, s := range strings.Split(x, ",") {
			if s = strings.TrimSpace(s); s != "" {
				items = append(items, s)
			}
		}
	case []string:
		for _, s := range x {
			items = append(items, s)
		}
	case []any:
		items = x
	case [][]any:
		for _, p := range x {
			items = append(items, p)
		}
	default:
		return nil, bad(v, nil)
	}
	var out []string
	for _, it := range items {
		var host string
		var port any = defPort
		switch x := it.(type) {
		case string:
			x = strings.TrimSpace(x)
			h, p, err := net.SplitHostPort(x)
			if err != nil {
				if strings.Contains(x, ":") && !strings.HasPrefix(x, "[") {
					return nil, bad(it, fmt.Errorf("%q: %w", x, err))
				}
				h, p = strings.Trim(x, "[]"), strconv.Itoa(defPort)
			}
			host, port = h, p
		case []any:
			if len(x) != 2 {
				return nil, bad(it, fmt.Errorf("%v is not a [host, port] pair", x))
			}
			h, ok := x[0].(string)
			if !ok {
				return nil, bad(it, fmt.Errorf("%v is not a [host, port] pair", x))
			}
			host, port = h, x[1]
		case map[string]any:
			h, ok := x["host"].(string)
			if !ok {
				return nil, bad(it, fmt.Errorf("%v has no host", x))
			}
			host = h
			if p, ok := x["port"]; ok {
				port = p
			}
		default:
			return nil, bad(it, fmt.Errorf("%#v is not a server", it))
		}
		n, err := region.Arguments{"": port}.Int("", 0)
		if err != nil || n <= 0 || n > 65535 || host == "" {
			return nil, bad(it, fmt.Errorf("%v:%v is not host:port", host, port))
		}
		out = append(out, net.JoinHostPort(host, strconv.Itoa(n)))
	}
	return out, nil
}
