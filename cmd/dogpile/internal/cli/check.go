package cli

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/dogpile-go/dogpile/oslocache"
	"github.com/dogpile-go/dogpile/region"
)

const configCheckLong = `Read FILE as the dogpile commands and Go services read it, and print the
region each section would build: backend, expiration, arguments, proxies and
key mangler, then every option it ignores (with why) and every option it
refuses. Nothing is connected to.

A keystone.conf [cache] section is read by oslo.cache's rules (every
oslo.cache option honoured or refused by name; see docs/oslo-cache.md), and
the caching and cache_time options of the other sections are listed as the
memoization they give. Other sections with a backend key are read by
dogpile.cache's rules (backend, expiration_time, arguments.<name>, wrap).

Exit status: 0 when every section builds its region, 2 when an option or
argument is refused.`

func (a *App) configCmd(sf *storeFlags) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "config",
		Short: "Check configuration files",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return cmd.Help()
		},
	}
	var asJSON bool
	check := &cobra.Command{
		Use:   "check FILE",
		Short: "Print the region each section of FILE would build, and what it ignores or refuses",
		Long:  configCheckLong,
		Example: `  dogpile config check /etc/keystone/keystone.conf
  dogpile config check --json examples/memcached.ini`,
		Args: exactArgs("FILE"),
		RunE: func(_ *cobra.Command, args []string) error {
			rep, err := checkFile(args[0], sf.prefix)
			if err != nil {
				return err
			}
			if asJSON {
				b, err := json.MarshalIndent(rep, "", "  ")
				if err != nil {
					return err
				}
				if _, err := fmt.Fprintf(a.stdout(), "%s\n", b); err != nil {
					return err
				}
			} else if err := rep.write(a.stdout()); err != nil {
				return err
			}
			if n := rep.refused(); n > 0 {
				return &exitError{code: ExitError, msg: fmt.Sprintf("%s: %d refused (see above)", args[0], n)}
			}
			return nil
		},
	}
	check.Flags().BoolVar(&asJSON, "json", false, "print the report as JSON")
	usesStoreFlags(check, "prefix")
	cmd.AddCommand(check)
	return cmd
}

// checkReport is what `config check` prints.
type checkReport struct {
	File        string         `json:"file"`
	Sections    []sectionCheck `json:"sections"`
	Memoization []memoCheck    `json:"memoization,omitempty"`
}

type sectionCheck struct {
	Section           string            `json:"section"`
	Rules             string            `json:"rules"` // "oslo.cache" or "dogpile.cache"
	Backend           string            `json:"backend,omitempty"`
	ConfiguredBackend string            `json:"configured_backend,omitempty"`
	ExpirationSeconds float64           `json:"expiration_seconds"`
	Arguments         map[string]string `json:"arguments"`
	Proxies           []string          `json:"proxies"`
	KeyMangler        string            `json:"key_mangler,omitempty"`
	Ignored           []string          `json:"ignored"`
	Refused           []string          `json:"refused"`
}

type memoCheck struct {
	Section          string   `json:"section"`
	Caching          bool     `json:"caching"`
	CacheTimeSeconds *float64 `json:"cache_time_seconds"`
}

func (r *checkReport) refused() int {
	n := 0
	for _, s := range r.Sections {
		n += len(s.Refused)
	}
	return n
}

func (r *checkReport) write(w io.Writer) error {
	var b strings.Builder
	if len(r.Sections) == 0 && len(r.Memoization) == 0 {
		fmt.Fprintf(&b, "%s: no cache configuration ([cache] section, or sections with a backend key)\n", r.File)
	}
	for i, s := range r.Sections {
		if i > 0 {
			b.WriteByte('\n')
		}
		fmt.Fprintf(&b, "[%s] in %s (%s rules)\n", s.Section, r.File, s.Rules)
		line := func(label, text string) { fmt.Fprintf(&b, "  %-12s %s\n", label, text) }
		backend := s.Backend
		if s.ConfiguredBackend != "" && s.ConfiguredBackend != s.Backend {
			backend += fmt.Sprintf(" (backend = %s, not used: caching is disabled)", s.ConfiguredBackend)
		}
		line("backend", backend)
		exp := "none"
		if s.ExpirationSeconds > 0 {
			exp = (time.Duration(s.ExpirationSeconds * float64(time.Second))).String()
		}
		line("expiration", exp)
		names := make([]string, 0, len(s.Arguments))
		for n := range s.Arguments {
			names = append(names, n)
		}
		sort.Strings(names)
		if len(names) == 0 {
			line("arguments", "none")
		}
		for i, n := range names {
			label := ""
			if i == 0 {
				label = "arguments"
			}
			line(label, n+" = "+s.Arguments[n])
		}
		proxies := "none"
		if len(s.Proxies) > 0 {
			proxies = strings.Join(s.Proxies, ", ") + " (outermost first)"
		}
		line("proxies", proxies)
		if s.KeyMangler != "" {
			line("key mangler", s.KeyMangler)
		}
		for _, n := range s.Ignored {
			line("ignored", n)
		}
		for _, n := range s.Refused {
			line("REFUSED", n)
		}
	}
	if len(r.Memoization) > 0 {
		if len(r.Sections) > 0 {
			b.WriteByte('\n')
		}
		fmt.Fprintf(&b, "memoization (get_memoization_decorator) in %s\n", r.File)
		for _, m := range r.Memoization {
			text := "caching on"
			switch {
			case !m.Caching:
				text = "caching off: calls go straight to the function"
			case m.CacheTimeSeconds == nil:
				text += ", values expire with the region ([cache] expiration_time)"
			case *m.CacheTimeSeconds < 0:
				text += ", values never expire (cache_time = -1)"
			default:
				text += fmt.Sprintf(", values expire after %v (cache_time)", time.Duration(*m.CacheTimeSeconds*float64(time.Second)))
			}
			fmt.Fprintf(&b, "  [%s] %s\n", m.Section, text)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// checkFile reads path as the commands read it and reports every section.
func checkFile(path, prefix string) (*checkReport, error) {
	if err := checkReadable(path); err != nil {
		return nil, err
	}
	rep := &checkReport{File: path}
	file, iniErr := oslocache.ReadINI(path)
	osloCache := isOsloSection(path, "cache", prefix)
	hasCache := iniErr == nil && file.HasSection("cache")
	if osloCache || !hasCache {
		conf, err := oslocache.Load(path)
		switch {
		case err != nil && osloCache:
			rep.Sections = append(rep.Sections, sectionCheck{Section: "cache", Rules: "oslo.cache", Arguments: map[string]string{}, Refused: errorLines(err)})
		case err == nil:
			if osloCache {
				rep.Sections = append(rep.Sections, checkOslo(conf))
			}
			rep.Memoization = memoChecks(conf)
		}
	}
	if iniErr != nil {
		if osloCache {
			return rep, nil
		}
		return nil, userErrorf("config file %s", strings.TrimPrefix(iniErr.Error(), "oslocache: "))
	}
	backendKey := strings.ToLower(prefix) + "backend"
	for _, name := range file.Sections() {
		if name == iniDefaultSection || (osloCache && name == "cache") {
			continue
		}
		if !slices.ContainsFunc(file.Entries(name), func(e oslocache.INIEntry) bool { return strings.ToLower(e.Key) == backendKey }) {
			continue
		}
		rep.Sections = append(rep.Sections, checkDogpile(path, name, prefix))
	}
	return rep, nil
}

// errorLines splits joined errors into one line each.
func errorLines(err error) []string {
	var lines []string
	for _, l := range strings.Split(err.Error(), "\n") {
		if l = strings.TrimSpace(strings.TrimPrefix(l, "oslocache: ")); l != "" {
			lines = append(lines, l)
		}
	}
	return lines
}

// checkOslo reports a keystone.conf [cache] section.
func checkOslo(conf *oslocache.Config) sectionCheck {
	sc := sectionCheck{Section: "cache", Rules: "oslo.cache", Arguments: map[string]string{}}
	s, err := conf.RegionSettings()
	if s != nil {
		sc.Backend, sc.ConfiguredBackend = s.Backend, s.ConfiguredBackend
		sc.ExpirationSeconds = s.ExpirationTime.Seconds()
		sc.Proxies = s.Proxies
		for n, v := range s.Arguments {
			sc.Arguments[n] = describeArgument(n, v)
		}
		for _, n := range s.Notes {
			sc.Ignored = append(sc.Ignored, n.String())
		}
	}
	if err != nil {
		sc.Refused = errorLines(err)
		return sc
	}
	if !region.IsBackendRegistered(s.Backend) {
		msg := fmt.Sprintf("[cache] backend %s is not registered in this program", s.Backend)
		if pkg := oslocache.RegisteringPackage(s.Backend); pkg != "" {
			msg += " (package " + pkg + " registers it when it is built in)"
		}
		sc.Refused = append(sc.Refused, msg)
		return sc
	}
	r := oslocache.CreateRegion("check", region.WithErrorHandler(func(context.Context, string, error) {}))
	defer r.Close()
	if err := s.Apply(r); err != nil {
		sc.Refused = append(sc.Refused, oneLine(strings.TrimPrefix(err.Error(), "oslocache: ")))
		return sc
	}
	sc.KeyMangler = "the backend's own"
	if _, own := region.BackendAs[region.KeyMangler](r.ActualBackend()); !own {
		sc.KeyMangler = "SHA-1 (oslo.cache's sha1_mangle_key: the backend has none)"
	}
	return sc
}

// checkDogpile reports a section read by dogpile.cache's rules, as the
// commands read it.
func checkDogpile(path, section, prefix string) sectionCheck {
	sc := sectionCheck{Section: section, Rules: "dogpile.cache", Arguments: map[string]string{}}
	conf, err := readINISection(path, section, prefix)
	if err != nil {
		sc.Refused = append(sc.Refused, err.Error())
		return sc
	}
	sc.Backend, _ = conf["backend"].(string)
	known := []string{"backend", "expiration_time", "wrap", "replace_existing_backend"}
	for k, v := range conf {
		switch {
		case strings.HasPrefix(k, "arguments."):
			sc.Arguments[strings.TrimPrefix(k, "arguments.")] = describeArgument(strings.TrimPrefix(k, "arguments."), v)
		case k == "wrap":
			sc.Proxies = strings.FieldsFunc(fmt.Sprint(v), func(r rune) bool { return r == ',' || r == ' ' })
		case !slices.Contains(known, k):
			sc.Ignored = append(sc.Ignored, fmt.Sprintf("%s%s: not a dogpile.cache region key (backend, expiration_time, arguments.<name>, wrap, replace_existing_backend); a key of [DEFAULT] applies to every section", prefix, k))
		}
	}
	sort.Strings(sc.Ignored)
	if exp, err := region.Arguments(conf).Duration("expiration_time", 0); err == nil {
		sc.ExpirationSeconds = exp.Seconds()
	}
	if sc.Backend == "gocache" {
		sc.Refused = append(sc.Refused, "backend gocache takes a store built in Go code; from a file use gocache.go_cache, gocache.ristretto, gocache.redis or gocache.memcache")
		return sc
	}
	r := region.New("check", region.WithErrorHandler(func(context.Context, string, error) {}))
	defer r.Close()
	if err := r.ConfigureFromConfig(conf, ""); err != nil {
		if isUnknownBackend(err, sc.Backend) {
			sc.Refused = append(sc.Refused, unknownBackend(sc.Backend, fmt.Sprintf("[%s] in %s", section, path)))
			return sc
		}
		if msg := unknownProxy(conf, fmt.Sprintf("[%s] in %s", section, path)); msg != "" && errors.Is(err, region.ErrPluginNotFound) {
			sc.Refused = append(sc.Refused, msg)
			return sc
		}
		msg := strings.TrimPrefix(err.Error(), `region "check": `)
		sc.Refused = append(sc.Refused, oneLine(msg))
		return sc
	}
	sc.KeyMangler = "none"
	if _, own := region.BackendAs[region.KeyMangler](r.ActualBackend()); own {
		sc.KeyMangler = "the backend's own"
	}
	return sc
}

// memoChecks lists the sections that set caching or cache_time.
func memoChecks(conf *oslocache.Config) []memoCheck {
	var out []memoCheck
	for _, s := range conf.Sections() {
		keys := conf.Keys(s)
		if s == "cache" || (!slices.Contains(keys, "caching") && !slices.Contains(keys, "cache_time")) {
			continue
		}
		m := memoCheck{Section: s, Caching: conf.CachingEnabled(s)}
		if d, ok := conf.CacheTime(s); ok {
			secs := d.Seconds()
			if d == region.NoExpiration {
				secs = -1
			}
			m.CacheTimeSeconds = &secs
		}
		out = append(out, m)
	}
	return out
}

// describeArgument renders an argument's value for a person; passwords are
// masked.
func describeArgument(name string, v any) string {
	if strings.Contains(name, "password") {
		return "(set, not shown)"
	}
	switch x := v.(type) {
	case *tls.Config:
		roots := "the system's CA certificates"
		if x.RootCAs != nil {
			roots = "the CA certificates of tls_cafile"
		}
		client := "no client certificate"
		if len(x.Certificates) > 0 {
			client = "a client certificate"
		}
		suites := "Go's default cipher suites"
		if len(x.CipherSuites) > 0 {
			names := make([]string, len(x.CipherSuites))
			for i, id := range x.CipherSuites {
				names[i] = tls.CipherSuiteName(id)
			}
			suites = "cipher suites " + strings.Join(names, ", ")
		}
		return fmt.Sprintf("TLS 1.2 or newer, trusting %s, %s, %s", roots, client, suites)
	case net.KeepAliveConfig:
		return fmt.Sprintf("TCP keepalive: idle %v, interval %v, %d probes", x.Idle, x.Interval, x.Count)
	case []string:
		return strings.Join(x, ", ")
	case string:
		// A value continued on several lines: one line, as a list reads.
		lines := strings.Split(x, "\n")
		for i := range lines {
			lines[i] = strings.TrimSpace(lines[i])
		}
		return strings.Join(lines, " ")
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		parts := make([]string, len(keys))
		for i, k := range keys {
			parts[i] = fmt.Sprintf("%s: %v", k, x[k])
		}
		return "{" + strings.Join(parts, ", ") + "}"
	}
	return fmt.Sprint(v)
}
