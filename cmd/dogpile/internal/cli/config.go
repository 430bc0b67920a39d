package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"slices"
	"strings"

	"gopkg.in/ini.v1"

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
	key  string // fingerprint, when conf cannot be marshalled
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

// readINISection reads one section of an INI file the way dogpile.cache and
// oslo.cache read theirs: keys backend, expiration_time, arguments.<name>
// (after prefix), plus oslo.cache's repeatable "backend_argument =
// name:value". Keys of the DEFAULT section apply to every section, as with
// Python's configparser.
func readINISection(path, section, prefix string) (map[string]any, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, readError(path, err)
	}
	file, err := ini.LoadSources(ini.LoadOptions{
		AllowShadows:        true, // oslo.cache's backend_argument repeats
		IgnoreInlineComment: true, // as Python's configparser: "#" and ";" only start whole-line comments
		InsensitiveKeys:     true, // as configparser: option names are lowercase
	}, data)
	if err != nil {
		return nil, userErrorf("config file %s: %v", path, oneLine(err.Error()))
	}
	sec, err := file.GetSection(section)
	if err != nil || section == ini.DefaultSection {
		var names []string
		for _, s := range file.SectionStrings() {
			if s != ini.DefaultSection {
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
	add := func(k *ini.Key) error {
		name, ok := strings.CutPrefix(k.Name(), prefix)
		if !ok {
			return nil
		}
		if name == "backend_argument" {
			for _, v := range k.ValueWithShadows() {
				argName, argVal, ok := strings.Cut(v, ":")
				if !ok || strings.TrimSpace(argName) == "" {
					return userErrorf("config file %s, section [%s]: %sbackend_argument %q: want name:value", path, section, prefix, v)
				}
				conf["arguments."+strings.TrimSpace(argName)] = strings.TrimSpace(argVal)
			}
			return nil
		}
		conf[name] = k.String()
		return nil
	}
	if def, err := file.GetSection(ini.DefaultSection); err == nil {
		for _, k := range def.Keys() {
			if err := add(k); err != nil {
				return nil, err
			}
		}
	}
	for _, k := range sec.Keys() {
		if err := add(k); err != nil {
			return nil, err
		}
	}
	return conf, nil
}

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

// openRegion configures a region on the store. An unknown backend is
// reported with the registered names; other failures are explained by
// explain. onError is told about values that could not be read.
func openRegion(sc *storeConfig, onError region.ErrorHandler) (*region.Region, error) {
	name := sc.backend()
	if !region.IsBackendRegistered(name) {
		registered := region.RegisteredBackends()
		msg := fmt.Sprintf("unknown backend %q (from %s); registered backends: %s", name, sc.source, strings.Join(registered, ", "))
		if s := suggestBackend(name, registered); s != "" {
			msg += fmt.Sprintf(`; did you mean "%s"?`, s)
		}
		return nil, userErrorf("%s", msg)
	}
	if name == "gocache" {
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
