package region

import (
	"fmt"
	"strings"
)

// ConfigureFromConfig configures the region from a flat configuration map,
// as dogpile.cache's configure_from_config does with an ini section. With
// prefix "cache." it reads:
//
//	cache.backend                   registered backend name (required)
//	cache.expiration_time           seconds ("600", "1.5") or a Go duration ("10m")
//	cache.arguments.<name>          backend arguments
//	cache.wrap                      registered proxy names, first outermost ("a,b" or a list)
//	cache.replace_existing_backend  "true" to replace an existing backend
//
// String values are coerced as dogpile does (see CoerceString): "600"
// becomes 600, "true" true, "1.5" 1.5; lists stay strings that backends
// split at commas. The map is not modified.
func (r *Region) ConfigureFromConfig(conf map[string]any, prefix string) error {
	c := Arguments(conf)
	backend, err := c.String(prefix+"backend", "")
	if err != nil {
		return err
	}
	if backend == "" {
		return &ArgumentError{Name: prefix + "backend", Value: nil, Want: "the name of a registered backend"}
	}
	var opts []ConfigOption
	exp, err := c.Duration(prefix+"expiration_time", 0)
	if err != nil {
		return err
	}
	opts = append(opts, WithExpirationTime(exp))
	args := Arguments{}
	argPrefix := prefix + "arguments."
	for k, v := range conf {
		if name, ok := strings.CutPrefix(k, argPrefix); ok && name != "" {
			if s, isString := v.(string); isString {
				args[name] = CoerceString(s)
			} else {
				args[name] = v
			}
		}
	}
	opts = append(opts, WithArguments(args))
	wrap, err := c.Strings(prefix+"wrap", nil)
	if err != nil {
		return err
	}
	for _, name := range wrap {
		p, err := NewProxy(name)
		if err != nil {
			return fmt.Errorf("region %q: %w", r.name, err)
		}
		opts = append(opts, WithWrap(p))
	}
	replace, err := c.Bool(prefix+"replace_existing_backend", false)
	if err != nil {
		return err
	}
	if replace {
		opts = append(opts, WithReplaceExistingBackend())
	}
	return r.Configure(backend, opts...)
}
