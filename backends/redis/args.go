package redis

import (
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
var commonArguments = slices.Concat([]string{"url"}, topLevelConnection, []string{
	"redis_expiration_time",
	"distributed_lock", "lock_timeout", "lock_sleep", "lock_blocking", "lock_blocking_timeout", "thread_local_lock",
	"connection_kwargs", "connection_pool",
	"client",
})

// connectionArguments are the arguments that describe a connection, all
// meaningless next to a client.
var connectionArguments = slices.Concat([]string{"url"}, topLevelConnection,
	[]string{"connection_kwargs", "sentinels", "service_name", "sentinel_kwargs", "startup_nodes"})

// backendArguments are the arguments each backend knows.
var backendArguments = map[string][]string{
	Name:         commonArguments,
	SentinelName: append(slices.Clone(commonArguments), "sentinels", "service_name", "sentinel_kwargs"),
	ClusterName:  append(slices.Clone(commonArguments), "startup_nodes"),
}

// RefusedArgumentError is the error for an argument these backends refuse
// (a redis-py Python object, or one dogpile.cache would silently drop next
// to another): region.RefusedArgumentError, whose Backend is the
// registered name. It matches region.ErrBadArgument.
type RefusedArgumentError = region.RefusedArgumentError

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

// parseConfig reads the arguments of backend.
func parseConfig(backend string, args region.Arguments) (*config, error) {
	if err := args.CheckKnown(backend, backendArguments[backend]...); err != nil {
		return nil, err
	}
	if args.Has("connection_pool") {
		return nil, &RefusedArgumentError{Name: "connection_pool", Reason: connectionPoolRefused}
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
	if c.lockBlockingTimeout < 0 {
		return &region.ArgumentError{Name: "lock_blocking_timeout", Value: args["lock_blocking_timeout"], Want: "0 or more seconds"}
	}
	if c.lockBlockingTimeout == 0 && args.Has("lock_blocking_timeout") {
		// redis-py's blocking_timeout=0: one attempt, then give up.
		c.lockBlockingTimeout = -1
	}
	return nil
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
	kw, err := c.connectionKwargs(args)
	if err != nil {
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
		case rawURL != "" && kw.Has(n) && (n == "host" || n == "port"):
			return &RefusedArgumentError{Name: "connection_kwargs." + n, Reason: "with url, the server is the url's (redis-py's from_url); put it in the url"}
		case rawURL == "" && kw.Has(n):
			return &RefusedArgumentError{Name: "connection_kwargs." + n, Reason: kwargsOverridden[n]}
		}
	}
	s, err := serverSettings(args, kw)
	if err != nil {
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
	kw, err := c.connectionKwargs(args)
	if err != nil {
		return err
	}
	s, err := serverSettings(args, kw)
	if err != nil {
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
	kw, err := c.connectionKwargs(args)
	if err != nil {
		return err
	}
	s, err := serverSettings(args, kw)
	if err != nil {
		return err
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
