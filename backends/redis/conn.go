package redis

import (
	"crypto/tls"
	"encoding/json"
	"fmt"
	"maps"
	"net"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/dogpile-go/dogpile/region"
)

// This file reads the connection settings: where each may be given
// (top-level arguments, connection_kwargs, sentinel_kwargs, the url), how
// two places giving one setting agree, and what a connection is made of.

// placement says where a connection setting may be given (flags).
type placement uint8

const (
	topLevel       placement = 1 << iota // a top-level argument of every backend
	inKwargs                             // a connection_kwargs entry
	inConn                               // read into a connConfig
	inSentinel                           // a sentinel_kwargs entry
	sharedSentinel                       // go-redis gives the Sentinels the servers' value
)

// connectionSettings are the connection settings dogpile.cache and
// redis-py take, and where each may be given: the one table the lists
// below derive from.
var connectionSettings = []struct {
	name  string
	where placement
}{
	{"host", topLevel | inKwargs},
	{"port", topLevel | inKwargs},
	{"db", topLevel | inKwargs | inConn | inSentinel},
	{"username", topLevel | inKwargs | inConn | inSentinel},
	{"password", topLevel | inKwargs | inConn | inSentinel},
	{"socket_timeout", topLevel | inKwargs | inConn | inSentinel | sharedSentinel},
	{"socket_connect_timeout", topLevel | inKwargs | inConn | inSentinel | sharedSentinel},
	{"socket_keepalive", topLevel | inKwargs | inConn | inSentinel | sharedSentinel},
	{"socket_keepalive_options", topLevel | inKwargs | inConn | inSentinel | sharedSentinel},
	{"ssl", topLevel | inKwargs | inConn | inSentinel | sharedSentinel},
	{"ssl_keyfile", inKwargs | inConn | inSentinel | sharedSentinel},
	{"ssl_certfile", inKwargs | inConn | inSentinel | sharedSentinel},
	{"ssl_cert_reqs", inKwargs | inConn | inSentinel | sharedSentinel},
	{"ssl_ca_certs", inKwargs | inConn | inSentinel | sharedSentinel},
	{"ssl_ca_data", inKwargs | inConn | inSentinel | sharedSentinel},
	{"ssl_ca_path", inKwargs | inConn | inSentinel | sharedSentinel},
	{"ssl_check_hostname", inKwargs | inConn | inSentinel | sharedSentinel},
	{"ssl_ciphers", inKwargs | inConn | inSentinel | sharedSentinel},
	{"client_name", inKwargs | inConn | inSentinel | sharedSentinel},
	{"max_connections", inKwargs | inConn},
	{"encoding", inKwargs | inConn | inSentinel},
	{"encoding_errors", inKwargs | inConn | inSentinel},
	{"decode_responses", inKwargs | inConn | inSentinel},
	{"retry_on_timeout", inKwargs | inConn | inSentinel},
	{"health_check_interval", inKwargs | inConn | inSentinel},
	{"read_from_replicas", inKwargs},
}

// settingNames returns the names of the connection settings given where.
func settingNames(where placement) []string {
	var out []string
	for _, cs := range connectionSettings {
		if cs.where&where == where {
			out = append(out, cs.name)
		}
	}
	return out
}

var (
	// topLevelConnection are the top-level connection arguments.
	topLevelConnection = settingNames(topLevel)
	// connectionFields are the settings read into a connConfig.
	connectionFields = settingNames(inConn)
	// sentinelKwargs are the sentinel_kwargs entries honoured.
	sentinelKwargs = settingNames(inSentinel)
	// sharedWithSentinels are the sentinel_kwargs entries go-redis cannot
	// set apart from the servers' (FailoverOptions has one of each).
	sharedWithSentinels = settingNames(inSentinel | sharedSentinel)
)

// kwargsExcluded are the connection_kwargs entries a backend does not
// take: read_from_replicas outside a cluster; host and port where the
// servers come from elsewhere (sentinels, cluster nodes).
var kwargsExcluded = map[string][]string{
	Name:         {"read_from_replicas"},
	SentinelName: {"read_from_replicas", "host", "port"},
	ClusterName:  {"host", "port"},
}

// connectionKwargs reads and checks connection_kwargs for the backend.
func (c *config) connectionKwargs(args region.Arguments) (region.Arguments, error) {
	kw, err := kwargs(args, "connection_kwargs")
	if err != nil {
		return nil, err
	}
	known := slices.DeleteFunc(settingNames(inKwargs), func(k string) bool { return slices.Contains(kwargsExcluded[c.backend], k) })
	if err := checkKwargs(c.backend, "connection_kwargs", kw, known); err != nil {
		return nil, err
	}
	return kw, nil
}

// serverSettings collects the servers' connection settings: the top-level
// connection arguments and connection_kwargs (kw).
func serverSettings(args region.Arguments, kw region.Arguments) (*settings, error) {
	s := newSettings()
	if err := collect(s, args, connectionFields, "connection_kwargs", kw); err != nil {
		return nil, err
	}
	return s, nil
}

// connectionPoolRefused says why connection_pool is refused, at the top
// level and in connection_kwargs.
const connectionPoolRefused = "it is a redis-py ConnectionPool, a Python object; pass a go-redis client (a redis.UniversalClient) as the argument \"client\" instead"

// refusedKwargs are the connection_kwargs (and sentinel_kwargs) entries
// refused by name, with the reason.
var refusedKwargs = map[string]string{
	"connection_class":          "it is a redis-py class, a Python object",
	"connection_pool":           connectionPoolRefused,
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
