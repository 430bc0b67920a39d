package oslocache

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/dogpile-go/dogpile/internal/suggest"
)

// Config is a keystone.conf-style file as oslo.cache reads it: the [cache]
// options, every one checked, and the memoization options (caching,
// cache_time) of every section. Build it with Load or Parse; it does not
// change afterwards and is safe for concurrent use.
type Config struct {
	file  *iniFile
	cache map[string]*optValue // every [cache] option, set or default
	memo  map[string]memoGroup // by section
	// resolved are the $references of other sections already substituted.
	resolved map[refKey]string
}

// optValue is a [cache] option's value: converted, and where it was set.
type optValue struct {
	def  *optionDef
	set  bool   // written in the file (else: the default)
	pos  Pos    // the (last) assignment
	text string // as written, after $substitution (single-valued)
	v    any    // converted: string, int64, float64, bool, []string, or nil (None)
	// items are the assignments of a multi-valued option, in order.
	items []multiItem
}

type multiItem struct {
	text string
	pos  Pos
}

// memoGroup is a section's memoization options.
type memoGroup struct {
	caching      bool // default true
	cachingPos   Pos
	cacheTime    *int64 // nil: None (fall back to [cache] expiration_time)
	cacheTimePos Pos
}

// Load reads a keystone.conf-style file: oslo.config's ini dialect, as
// oslo.cache reads its [cache] section. Every [cache] option is checked
// (type, range, $substitution); an option oslo.cache does not define is an
// error (ErrUnknownOption) naming the closest one it does. Errors name the
// file and line: "keystone.conf:42: [cache] expiration_time: ...". When
// there are several, they are all returned (errors.Join).
func Load(path string) (*Config, error) {
	data, err := readConfigFile(path)
	if err != nil {
		return nil, err
	}
	return Parse(path, data)
}

// Parse is Load for a file already read; name is used in error messages.
func Parse(name string, data []byte) (*Config, error) {
	f, err := parseINI(name, data)
	if err != nil {
		return nil, err
	}
	c := &Config{file: f, cache: map[string]*optValue{}, memo: map[string]memoGroup{}, resolved: map[refKey]string{}}
	var errs []error
	if s := f.sections[cacheSection]; s != nil {
		reported := map[string]bool{}
		for _, e := range s.entries {
			if _, ok := lookupOption(e.key); ok || reported[e.key] {
				continue
			}
			reported[e.key] = true
			errs = append(errs, unknownOption(e))
		}
	}
	for i := range cacheOptions {
		if _, err := c.cacheValue(&cacheOptions[i], nil); err != nil {
			errs = append(errs, err)
		}
	}
	for _, name := range f.order {
		if _, done := c.memo[name]; done || name == cacheSection {
			continue
		}
		g, gerrs := c.readMemoGroup(name, nil)
		errs = append(errs, gerrs...)
		c.memo[name] = g
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return c, nil
}

func unknownOption(e entry) error {
	msg := "oslo.cache defines no such option (oslo.config would ignore it; this is refused so that a misspelt option is not silently left out)"
	if s := suggest.Closest(e.key, OptionNames()); s != "" {
		msg = fmt.Sprintf("oslo.cache defines no such option; did you mean %q?", s)
	}
	return &OptionError{Pos: e.pos, Section: cacheSection, Option: e.key, Value: e.value, Kind: ErrUnknownOption, Msg: msg}
}

// File returns the name the configuration was read from.
func (c *Config) File() string { return c.file.name }

// Enabled reports [cache] enabled: whether caching is on at all.
func (c *Config) Enabled() bool { return c.bool("enabled") }

// Backend returns [cache] backend as written (or its default,
// dogpile.cache.null). With caching disabled the region gets
// dogpile.cache.null whatever this says.
func (c *Config) Backend() string { return c.str("backend") }

// ExpirationTime returns [cache] expiration_time, the region's expiration
// (zero when the file sets it empty: no expiration, as oslo.cache's None).
func (c *Config) ExpirationTime() time.Duration {
	v := c.cache["expiration_time"].v
	if v == nil {
		return 0
	}
	return time.Duration(v.(int64)) * time.Second
}

// Sections returns the file's sections (normalized names: lower case,
// except DEFAULT), in order of first appearance.
func (c *Config) Sections() []string { return slices.Clone(c.file.order) }

// Keys returns the option names set in a section, in file order, each
// once.
func (c *Config) Keys(section string) []string {
	s := c.file.sections[normalizeSection(section)]
	if s == nil {
		return nil
	}
	var out []string
	for _, e := range s.entries {
		if !slices.Contains(out, e.key) {
			out = append(out, e.key)
		}
	}
	return out
}

// Value returns the value of option in section as oslo.config reads a
// string option: its last assignment, $references substituted, and where it
// was written. ok is false when the file does not set it.
func (c *Config) Value(section, option string) (value string, pos Pos, ok bool, err error) {
	name := normalizeSection(section)
	e, found := c.file.last(name, option)
	if !found {
		return "", Pos{}, false, nil
	}
	v, err := c.interpolate(e.value, name, e.pos, option, []refKey{{name, option}})
	if err != nil {
		return "", e.pos, true, err
	}
	return v, e.pos, true, nil
}

func (c *Config) str(name string) string {
	s, _ := c.cache[name].v.(string)
	return s
}

func (c *Config) bool(name string) bool {
	b, _ := c.cache[name].v.(bool)
	return b
}

// cacheValue returns a [cache] option's value, reading and converting it
// on first use.
func (c *Config) cacheValue(def *optionDef, stack []refKey) (*optValue, error) {
	if v, ok := c.cache[def.name]; ok {
		return v, nil
	}
	stack = append(stack, refKey{cacheSection, def.name})
	ov := &optValue{def: def, v: def.def}
	entries := c.file.entries(cacheSection, def.name)
	if len(entries) == 0 {
		c.cache[def.name] = ov
		return ov, nil
	}
	ov.set = true
	ov.pos = entries[len(entries)-1].pos
	if def.kind == kindMulti {
		items := make([]string, 0, len(entries))
		for _, e := range entries {
			text, err := c.interpolate(e.value, cacheSection, e.pos, def.name, stack)
			if err != nil {
				return nil, err
			}
			ov.items = append(ov.items, multiItem{text: text, pos: e.pos})
			items = append(items, text)
		}
		ov.v = items
		c.cache[def.name] = ov
		return ov, nil
	}
	e := entries[len(entries)-1]
	text, err := c.interpolate(e.value, cacheSection, e.pos, def.name, stack)
	if err != nil {
		return nil, err
	}
	ov.text = text
	v, err := convert(def, text)
	if err != nil {
		return nil, &OptionError{Pos: e.pos, Section: cacheSection, Option: def.name, Value: text, Kind: ErrBadValue, Msg: err.Error()}
	}
	ov.v = v
	c.cache[def.name] = ov
	return ov, nil
}

// renderCacheOption is a [cache] option's value as $substitution sees it.
func (c *Config) renderCacheOption(def *optionDef, stack []refKey) (string, error) {
	ov, err := c.cacheValue(def, stack[:len(stack)-1])
	if err != nil {
		return "", err
	}
	return pyStr(ov.v), nil
}

// convert turns an option's text into its typed value, as oslo.config's
// types do, with their messages.
func convert(def *optionDef, text string) (any, error) {
	switch def.kind {
	case kindString:
		if def.name == "backend" && !isBackendChoice(text) {
			return nil, unknownBackend(text)
		}
		return text, nil
	case kindInt:
		n, err := parsePyInt(text)
		if errors.Is(err, errEmpty) {
			return nil, nil
		}
		if err != nil {
			return nil, fmt.Errorf("cannot use %q: want an integer", text)
		}
		if def.hasMin && n < def.min {
			return nil, fmt.Errorf("cannot use %d: should be greater than or equal to %d", n, def.min)
		}
		return n, nil
	case kindFloat:
		f, err := parsePyFloat(text)
		if errors.Is(err, errEmpty) {
			return nil, nil
		}
		if err != nil {
			return nil, fmt.Errorf("cannot use %q: want a number", text)
		}
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return nil, fmt.Errorf("cannot use %q: want a finite number", text)
		}
		return f, nil
	case kindBool:
		b, ok := parsePyBool(text)
		if !ok {
			return nil, fmt.Errorf("cannot use %q: want a boolean (true/false, yes/no, on/off, 1/0)", text)
		}
		return b, nil
	case kindList:
		return parseList(text), nil
	}
	return text, nil
}

// unknownBackend explains a backend name oslo.cache does not offer.
func unknownBackend(name string) error {
	msg := fmt.Sprintf("cannot use %q: oslo.cache offers %s", name, strings.Join(backendChoices, ", "))
	if s := suggest.Closest(name, backendChoices); s != "" {
		msg += fmt.Sprintf("; did you mean %q?", s)
	} else if !strings.Contains(name, ".") {
		if s := suggest.Closest("dogpile.cache."+name, backendChoices); s != "" {
			msg += fmt.Sprintf("; did you mean %q?", s)
		}
	}
	return errors.New(msg)
}

// readMemoGroup reads a section's caching and cache_time, which
// get_memoization_decorator applies (any section may be a group).
func (c *Config) readMemoGroup(name string, stack []refKey) (memoGroup, []error) {
	g := memoGroup{caching: true}
	var errs []error
	if e, ok := c.file.last(name, "caching"); ok {
		g.cachingPos = e.pos
		text, err := c.interpolate(e.value, name, e.pos, "caching", append(stack, refKey{name, "caching"}))
		if err != nil {
			errs = append(errs, err)
		} else if b, ok := parsePyBool(text); ok {
			g.caching = b
		} else {
			errs = append(errs, &OptionError{Pos: e.pos, Section: name, Option: "caching", Value: text, Kind: ErrBadValue,
				Msg: fmt.Sprintf("cannot use %q: want a boolean (true/false, yes/no, on/off, 1/0)", text)})
		}
	}
	if e, ok := c.file.last(name, "cache_time"); ok {
		g.cacheTimePos = e.pos
		text, err := c.interpolate(e.value, name, e.pos, "cache_time", append(stack, refKey{name, "cache_time"}))
		if err != nil {
			errs = append(errs, err)
			return g, errs
		}
		n, err := parsePyInt(text)
		switch {
		case errors.Is(err, errEmpty):
		case err != nil:
			errs = append(errs, &OptionError{Pos: e.pos, Section: name, Option: "cache_time", Value: text, Kind: ErrBadValue,
				Msg: fmt.Sprintf("cannot use %q: want an integer (seconds)", text)})
		case n < -1:
			errs = append(errs, &OptionError{Pos: e.pos, Section: name, Option: "cache_time", Value: text, Kind: ErrBadValue,
				Msg: fmt.Sprintf("cannot use %d: want seconds, 0 (every value is expired) or -1 (never expire)", n)})
		default:
			g.cacheTime = &n
		}
	}
	return g, errs
}
