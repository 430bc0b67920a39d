package kvs

import (
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dogpile-go/dogpile/region"
)

// Defaults of Keystone's [kvs] options.
const (
	// DefaultConfigPrefix is the default Config.ConfigPrefix: the prefix of
	// the keys in the flat configuration map each store's region is
	// configured from ("keystone.kvs.backend", "keystone.kvs.arguments.*").
	DefaultConfigPrefix = "keystone.kvs"

	// DefaultLockTimeout is the default Config.DefaultLockTimeout.
	DefaultLockTimeout = 5 * time.Second

	// LockWindow is Keystone's LOCK_WINDOW: a lock counts as expired one
	// second before its timeout, and the backend's own lock lives one
	// second longer than the timeout, so a holder stops writing about two
	// seconds before anyone else can take the lock.
	LockWindow = time.Second

	// BackendPrefix is put in front of the names of the backends listed in
	// Config.Backends: Keystone registered "pkg.module.ClassName" as
	// "openstack.kvs.ClassName".
	BackendPrefix = "openstack.kvs."
)

// Config holds the package settings, Keystone's [kvs] configuration
// section. Start from DefaultConfig (the zero Config turns key mangling
// off) and install it with SetConfig, before the first GetKeyValueStore:
//
//	c := kvs.DefaultConfig()
//	c.DefaultLockTimeout = 10 * time.Second
//	if err := kvs.SetConfig(c); err != nil { ... }
//
// Settings are read when they are used, as Keystone read its CONF: the
// prefix and lock timeout when a store is configured, EnableKeyMangler
// when a store picks its key mangler, Backends once, by the first
// GetKeyValueStore of the process.
type Config struct {
	// Backends ([kvs] backends) names region backends, already registered
	// or registered later, to expose as "openstack.kvs.<Name>" as well,
	// where <Name> is the part of the entry after its last '.', as Keystone
	// turned "pkg.module.ClassName" into "openstack.kvs.ClassName":
	// "mycompany.Redis" is offered as "openstack.kvs.Redis" and builds the
	// backend registered as "mycompany.Redis". Each alias is registered
	// once per process, however many stores are made; an alias whose name
	// is already taken is skipped. The entry is looked up when a store is
	// configured with the alias, so an unknown entry is reported there
	// (region.ErrPluginNotFound), as Keystone reported a bad class path.
	Backends []string

	// ConfigPrefix ([kvs] config_prefix) is the prefix of the flat
	// configuration map keys (without the trailing dot). Empty means
	// DefaultConfigPrefix.
	ConfigPrefix string

	// EnableKeyMangler ([kvs] enable_key_mangler) makes every store mangle
	// its keys: with the mangler given to Configure, else the backend's,
	// else region.SHA1MangleKey. When false, stores do not set a mangler
	// and tell the backend to use none.
	EnableKeyMangler bool

	// DefaultLockTimeout ([kvs] default_lock_timeout) is the lock timeout
	// of stores whose Configure arguments have no "lock_timeout". Zero
	// means locks never expire. It must not be negative.
	DefaultLockTimeout time.Duration
}

// DefaultConfig returns Keystone's defaults: no extra backends, prefix
// "keystone.kvs", key mangling on, 5-second locks.
func DefaultConfig() Config {
	return Config{
		ConfigPrefix:       DefaultConfigPrefix,
		EnableKeyMangler:   true,
		DefaultLockTimeout: DefaultLockTimeout,
	}
}

var currentConfig atomic.Pointer[Config]

func init() {
	c := DefaultConfig()
	currentConfig.Store(&c)
}

// SetConfig installs the package settings. A negative DefaultLockTimeout
// is an error (wrapping region.ErrBadArgument) and changes nothing. It is
// safe to call at any time; see Config for when each setting is read.
func SetConfig(c Config) error {
	if c.DefaultLockTimeout < 0 {
		return &region.ArgumentError{Name: "default_lock_timeout", Value: c.DefaultLockTimeout, Want: "a duration of zero or more"}
	}
	c.Backends = append([]string(nil), c.Backends...)
	c.ConfigPrefix = strings.TrimSuffix(c.ConfigPrefix, ".")
	if c.ConfigPrefix == "" {
		c.ConfigPrefix = DefaultConfigPrefix
	}
	currentConfig.Store(&c)
	return nil
}

// CurrentConfig returns the package settings in force.
func CurrentConfig() Config {
	c := *currentConfig.Load()
	c.Backends = append([]string(nil), c.Backends...)
	return c
}

// ParseConfig reads a [kvs] configuration section given as strings, the
// way Keystone's oslo.config options were written, on top of
// DefaultConfig:
//
//	backends              comma-separated backend names
//	config_prefix         string
//	enable_key_mangler    true/false (also yes/no, on/off, 1/0)
//	default_lock_timeout  seconds (an integer of zero or more) or a Go duration
//
// An unknown option or a value that cannot be used is an error wrapping
// region.ErrBadArgument.
func ParseConfig(section map[string]string) (Config, error) {
	c := DefaultConfig()
	args := region.Arguments{}
	for k, v := range section {
		args[k] = v
	}
	for k := range section {
		switch k {
		case "backends", "config_prefix", "enable_key_mangler", "default_lock_timeout":
		default:
			return Config{}, &region.ArgumentError{Name: k, Value: section[k], Want: "one of the [kvs] options backends, config_prefix, enable_key_mangler, default_lock_timeout"}
		}
	}
	var err error
	if c.Backends, err = args.Strings("backends", nil); err != nil {
		return Config{}, err
	}
	if c.ConfigPrefix, err = args.String("config_prefix", c.ConfigPrefix); err != nil {
		return Config{}, err
	}
	if c.EnableKeyMangler, err = args.Bool("enable_key_mangler", c.EnableKeyMangler); err != nil {
		return Config{}, err
	}
	if c.DefaultLockTimeout, err = args.Duration("default_lock_timeout", c.DefaultLockTimeout); err != nil {
		return Config{}, err
	}
	return c, nil
}

// Keystone's BACKENDS_REGISTERED: the [kvs] backends are registered by the
// first GetKeyValueStore of the process and never again.
var backendsRegistered struct {
	sync.Mutex
	done bool
}

// registerBackends registers the aliases of Config.Backends, once per
// process; later calls do nothing (Keystone's _register_backends).
func registerBackends() {
	backendsRegistered.Lock()
	defer backendsRegistered.Unlock()
	if backendsRegistered.done {
		return
	}
	for _, entry := range CurrentConfig().Backends {
		entry = strings.TrimSpace(entry)
		if entry == "" {
			continue
		}
		name := BackendPrefix + entry[strings.LastIndexByte(entry, '.')+1:]
		if region.IsBackendRegistered(name) {
			if name != entry {
				slog.Warn("kvs: backend name already registered; not registering it again", "backend", entry, "name", name)
			}
			continue
		}
		region.RegisterBackend(name, aliasFactory(entry))
		slog.Debug("kvs: registered backend", "backend", entry, "name", name)
	}
	backendsRegistered.done = true
}

// aliasFactory builds the backend registered as target.
func aliasFactory(target string) region.BackendFactory {
	return func(args region.Arguments) (region.Backend, error) {
		b, err := region.NewBackend(target, args)
		if err != nil {
			return nil, fmt.Errorf("kvs: %w", err)
		}
		return b, nil
	}
}
