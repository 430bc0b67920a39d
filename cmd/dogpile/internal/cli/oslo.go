package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/dogpile-go/dogpile/oslocache"
	"github.com/dogpile-go/dogpile/region"
)

// dogpileStyleKeys are the section keys of dogpile.cache's own
// configuration style, which oslo.cache does not have.
func isDogpileStyleKey(k string) bool {
	return strings.HasPrefix(k, "arguments.") || k == "wrap" || k == "replace_existing_backend"
}

// isOsloSection decides whether a section is read by oslo.cache's rules (a
// keystone.conf [cache] section) rather than dogpile.cache's
// (backend = memcached, arguments.url = ...): only [cache] read without a
// prefix can be, and it is when its backend is a dogpile.cache or
// oslo.cache name or is not set (oslo.cache's default), or when it sets an
// option only oslo.cache has (enabled, memcache_servers, ...). A section
// with arguments.<name> or wrap keys is dogpile.cache's.
func isOsloSection(path, section, prefix string) bool {
	if prefix != "" || !strings.EqualFold(section, "cache") {
		return false
	}
	file, err := oslocache.ReadINI(path)
	if err != nil {
		return true // oslocache reports what is wrong, by line
	}
	if !file.HasSection("cache") {
		return false
	}
	var keys []string
	backend := ""
	for _, e := range file.Entries("cache") {
		keys = append(keys, e.Key)
		if e.Key == "backend" {
			backend = strings.TrimSpace(e.Value)
		}
	}
	if slices.ContainsFunc(keys, isDogpileStyleKey) {
		return false
	}
	if backend == "" || strings.HasPrefix(backend, "dogpile.cache.") || strings.HasPrefix(backend, "oslo_cache.") {
		return true
	}
	return slices.ContainsFunc(keys, func(k string) bool {
		_, isOption := oslocache.OptionUse(k)
		return isOption && k != "backend" && k != "expiration_time" && k != "backend_argument"
	})
}

// loadOsloStore reads the [cache] section of a keystone.conf-style file by
// oslo.cache's rules (package oslocache), with --arg over it.
//
// --backend is refused: oslo.cache maps its options to arguments for the
// file's backend (memcache_servers to url, memcache_dead_retry to
// dead_retry, nothing at all while enabled is false), so another backend
// would get arguments built for a different one.
func loadOsloStore(f storeFlags) (*storeConfig, error) {
	if f.backend != "" {
		return nil, userErrorf("--backend %s cannot replace the backend of [cache] in %s: that section is read by oslo.cache's rules, which build the arguments for its own backend (and for dogpile.cache.null while enabled is false); change backend (and enabled) in the file, or choose the store with --backend and --arg alone", f.backend, f.config)
	}
	conf, err := oslocache.Load(f.config)
	if err != nil {
		return nil, osloError(err)
	}
	s, err := conf.RegionSettings()
	if err != nil {
		return nil, osloError(err)
	}
	sources := []string{fmt.Sprintf("[cache] in %s", f.config)}
	args := map[string]string{}
	for _, a := range f.args {
		name, val, ok := strings.Cut(a, "=")
		name = strings.TrimPrefix(strings.TrimSpace(name), "arguments.")
		if !ok || name == "" {
			return nil, userErrorf("--arg %q: want NAME=VALUE, for example --arg url=127.0.0.1:11211", a)
		}
		s.Arguments[name] = region.CoerceString(val)
		args[name] = val
		if !slices.Contains(sources, "--arg") {
			sources = append(sources, "--arg")
		}
	}
	sc := &storeConfig{oslo: s, osloFile: f.config, osloArgs: args, source: strings.Join(sources, " and ")}
	sc.conf = map[string]any{"backend": s.Backend, "expiration_time": s.ExpirationTime.Seconds()}
	for name, v := range s.Arguments {
		sc.conf["arguments."+name] = v
	}
	if len(s.Proxies) > 0 {
		sc.conf["wrap"] = s.Proxies
	}
	// conf cannot always be marshalled (a *tls.Config): the file and the
	// flags identify the store instead.
	key, _ := json.Marshal(map[string]any{"oslo_config": f.config, "args": args})
	sc.key = string(key)
	return sc, nil
}

// osloError turns oslocache's errors (one per line, each naming the file,
// line and option) into one message.
func osloError(err error) error {
	msg := strings.TrimPrefix(err.Error(), "oslocache: ")
	return userErrorf("%s", msg)
}

// openOsloRegion configures a region from a keystone.conf [cache] section
// as oslo.cache's configure_cache_region does (SHA-1 key mangling included,
// so keys match a Python service's).
func openOsloRegion(sc *storeConfig, onError region.ErrorHandler) (*region.Region, error) {
	r := oslocache.CreateRegion("dogpile", region.WithErrorHandler(onError))
	if err := sc.oslo.Apply(r); err != nil {
		// An argument the file's option was mapped to, refused by the
		// backend: the option and line say it all.
		var oe *oslocache.OptionError
		if errors.As(err, &oe) {
			return nil, userErrorf("%s", oe.Error())
		}
		var ue *region.UnknownArgumentError
		if errors.As(err, &ue) {
			return nil, userErrorf("backend %s (from %s): %v", sc.backend(), sc.source, ue)
		}
		return nil, explain(err, sc)
	}
	return r, nil
}
