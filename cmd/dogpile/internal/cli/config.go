package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"slices"
	"strings"

	"github.com/dogpile-go/dogpile/internal/suggest"
	"github.com/dogpile-go/dogpile/oslocache"
	"github.com/dogpile-go/dogpile/region"
)

// defaultSection is the section read when --section is not given: the one
// oslo.cache reads.
const defaultSection = "cache"

// storeFlags are the flags that choose the store every command works on.
type storeFlags struct {
	config  string   // INI file
	section string   // its section
	prefix  string   // key prefix within the section ("cache." for dogpile's paste style)
	backend string   // overrides the section's backend
	args    []string // "name=value" backend arguments, over the section's
}

// storeConfig is a resolved store: what region.ConfigureFromConfig reads
// (with an empty prefix) and where it came from, for messages.
type storeConfig struct {
	conf   map[string]any
	source string // "[cache] in examples/memcached.ini", "command line", ...
	// oslo is set when the section is a keystone.conf [cache] section, read
	// by oslo.cache's rules: the region is configured from it (conf then
	// mirrors it, for messages and the benchmark).
	oslo *oslocache.RegionSettings
	// osloFile and osloArgs are the file and the --arg values oslo was
	// read from, for the benchmark's worker processes, which read the file
	// themselves.
	osloFile string
	osloArgs map[string]string
	key      string // fingerprint, when conf cannot be marshalled
}

func (s *storeConfig) backend() string {
	b, _ := s.conf["backend"].(string)
	return b
}

func (s *storeConfig) arg(name string) (any, bool) {
	v, ok := s.conf["arguments."+name]
	return v, ok
}

// fingerprint identifies the configuration, so an App can reuse a region
// opened for the same settings.
func (s *storeConfig) fingerprint() string {
	if s.key != "" {
		return s.key
	}
	b, _ := json.Marshal(s.conf) // maps marshal with sorted keys
	return string(b)
}

// loadStore resolves the flags into a store configuration: the INI section
// if --config is given, then --backend and --arg over it, and the memory
// backend when nothing names one. A keystone.conf [cache] section is read
// by oslo.cache's rules (see isOsloSection).
func loadStore(f storeFlags) (*storeConfig, error) {
	sc := &storeConfig{conf: map[string]any{}}
	var sources []string
	if f.config != "" {
		section := f.section
		if section == "" {
			section = defaultSection
		}
		if err := checkReadable(f.config); err != nil {
			return nil, err
		}
		if isOsloSection(f.config, section, f.prefix) {
			return loadOsloStore(f)
		}
		conf, err := readINISection(f.config, section, f.prefix)
		if err != nil {
			return nil, err
		}
		sc.conf = conf
		sources = append(sources, fmt.Sprintf("[%s] in %s", section, f.config))
		if sc.backend() == "" && f.backend == "" {
			return nil, userErrorf(`section [%s] in %s has no "%sbackend" key (for example: %sbackend = memcached)`,
				section, f.config, f.prefix, f.prefix)
		}
	} else if f.section != "" && f.section != defaultSection {
		return nil, userErrorf("--section %s needs --config FILE", f.section)
	}
	if f.backend != "" {
		sc.conf["backend"] = f.backend
		sources = append(sources, "--backend")
	}
	for _, a := range f.args {
		name, val, ok := strings.Cut(a, "=")
		name = strings.TrimSpace(name)
		if !ok || name == "" {
			return nil, userErrorf("--arg %q: want NAME=VALUE, for example --arg url=127.0.0.1:11211", a)
		}
		name = strings.TrimPrefix(name, "arguments.")
		sc.conf["arguments."+name] = val
		if !slices.Contains(sources, "--arg") {
			sources = append(sources, "--arg")
		}
	}
	if sc.backend() == "" {
		sc.conf["backend"] = "memory"
		sources = append(sources, "the default")
	}
	sc.source = strings.Join(sources, " and ")
	return sc, nil
}

// readINI reads a config file by oslo.config's line rules
// (oslocache.ReadINI), the rules every part of the file is read by:
// continuation lines, comments at the start of a line only, section names
// compared in lower case.
func readINI(path string) (*oslocache.INIFile, error) {
	if err := checkReadable(path); err != nil {
		return nil, err
	}
	f, err := oslocache.ReadINI(path)
	if err != nil {
		var se *oslocache.SyntaxError
		if errors.As(err, &se) {
			return nil, userErrorf("config file %s", se.Error())
		}
		return nil, readError(path, err)
	}
	return f, nil
}

// readINISection reads one section of an INI file the way dogpile.cache and
// oslo.cache read theirs: keys backend, expiration_time, arguments.<name>
// (after prefix), plus oslo.cache's repeatable "backend_argument =
// name:value". Keys of the DEFAULT section apply to every section, as with
// Python's configparser; key names are compared in lower case, and a key
// set twice takes its last value.
func readINISection(path, section, prefix string) (map[string]any, error) {
	file, err := readINI(path)
	if err != nil {
		return nil, err
	}
	if !file.HasSection(section) || section == iniDefaultSection {
		var names []string
		for _, s := range file.Sections() {
			if s != iniDefaultSection {
				names = append(names, "["+s+"]")
			}
		}
		list := "it has no sections"
		if len(names) > 0 {
			list = "sections: " + strings.Join(names, ", ")
		}
		return nil, userErrorf("config file %s has no section [%s] (%s)", path, section, list)
	}
	prefix = strings.ToLower(prefix)
	conf := map[string]any{}
	add := func(e oslocache.INIEntry) error {
		name, ok := strings.CutPrefix(strings.ToLower(e.Key), prefix)
		if !ok {
			return nil
		}
		if name == "backend_argument" {
			argName, argVal, ok := strings.Cut(e.Value, ":")
			if !ok || strings.TrimSpace(argName) == "" {
				return userErrorf("%s: [%s] %sbackend_argument %q: want name:value", e.Pos, section, prefix, e.Value)
			}
			conf["arguments."+strings.TrimSpace(argName)] = strings.TrimSpace(argVal)
			return nil
		}
		conf[name] = e.Value
		return nil
	}
	for _, s := range []string{iniDefaultSection, section} {
		for _, e := range file.Entries(s) {
			if err := add(e); err != nil {
				return nil, err
			}
		}
	}
	return conf, nil
}

// iniDefaultSection is the section whose keys apply to every section.
const iniDefaultSection = "DEFAULT"

// checkReadable reports a config file that cannot be read.
func checkReadable(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return readError(path, err)
	}
	return f.Close()
}

func readError(path string, err error) error {
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return userErrorf("config file %s not found", path)
	case errors.Is(err, fs.ErrPermission):
		return userErrorf("config file %s cannot be read: permission denied", path)
	}
	return userErrorf("config file %s cannot be read: %v", path, err)
}

// openRegion configures a region on the store. Failures are explained by
// explain (an unknown backend with the region's own hint: the closest
// registered name, or the package that registers it). onError is told
// about values that could not be read.
func openRegion(sc *storeConfig, onError region.ErrorHandler) (*region.Region, error) {
	if sc.backend() == "gocache" {
		return nil, userErrorf("backend gocache (from %s) takes a store built in Go code; from a config file use gocache.go_cache, gocache.ristretto, gocache.redis or gocache.memcache", sc.source)
	}
	if sc.oslo != nil {
		return openOsloRegion(sc, onError)
	}
	r := region.New("dogpile", region.WithErrorHandler(onError))
	if err := r.ConfigureFromConfig(sc.conf, ""); err != nil {
		return nil, explain(err, sc)
	}
	return r, nil
}

// unknownBackend words an unregistered backend name for a person at the
// command line: `unknown backend "memcache" (from SOURCE); registered: ...;
// did you mean "memcached"?`. The message is built from the registry, not
// from the region's error text; with no close name it points to
// 'dogpile backends' rather than to a Go import, which a command-line user
// cannot add.
func unknownBackend(name, source string) string {
	registered := region.RegisteredBackends()
	msg := fmt.Sprintf("unknown backend %q (from %s); registered: %s", name, source, strings.Join(registered, ", "))
	if meant := suggest.Closest(name, registered); meant != "" {
		return msg + fmt.Sprintf("; did you mean %q?", meant)
	}
	return msg + "; see 'dogpile backends' for each one and its arguments"
}

// unknownProxy words the first name of conf's wrap key that no proxy is
// registered under, as unknownBackend does for a backend: `unknown proxy
// "metric" in wrap (from SOURCE); registered: ...; did you mean
// "metrics"?`. It is "" when every name is registered.
func unknownProxy(conf map[string]any, source string) string {
	registered := region.RegisteredProxies()
	for _, name := range wrapNames(conf["wrap"]) {
		if slices.Contains(registered, name) {
			continue
		}
		msg := fmt.Sprintf("unknown proxy %q in wrap (from %s); registered: %s", name, source, strings.Join(registered, ", "))
		if meant := suggest.Closest(name, registered); meant != "" {
			msg += fmt.Sprintf("; did you mean %q?", meant)
		}
		return msg
	}
	return ""
}

// wrapNames are the proxy names of a wrap key's value: "a,b", or a list.
func wrapNames(v any) []string {
	var names []string
	switch v := v.(type) {
	case string:
		names = strings.Split(v, ",")
	case []string:
		names = v
	case []any:
		for _, n := range v {
			if s, ok := n.(string); ok {
				names = append(names, s)
			}
		}
	}
	for i := range names {
		names[i] = strings.TrimSpace(names[i])
	}
	return slices.DeleteFunc(names, func(n string) bool { return n == "" })
}

// isUnknownBackend reports whether err is the region's
// region.ErrPluginNotFound for the backend name itself, not for a proxy of
// the wrap key (the same sentinel).
func isUnknownBackend(err error, name string) bool {
	return errors.Is(err, region.ErrPluginNotFound) && !region.IsBackendRegistered(name)
}
