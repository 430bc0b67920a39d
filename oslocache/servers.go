package oslocache

import (
	"errors"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
)

// memcacheServers normalizes memcached server addresses to the form the
// backend's client reads, host:port (the default port 11211 added when
// missing): inet:host:port loses its prefix; an IPv6 address is
// inet6:[host]:port for the python-memcached backends (the only IPv6 form
// python-memcached reads) and [host]:port for the others (pymemcache's and
// gomemcache's); a bare IPv6 address needs brackets. unix:/path is kept as
// it is.
func memcacheServers(specs []string, backend string) ([]string, error) {
	inet6Prefix := ""
	if slices.Contains(pythonMemcachedBackends, backend) {
		inet6Prefix = "inet6:"
	}
	out := make([]string, 0, len(specs))
	for _, spec := range specs {
		s := strings.TrimSpace(spec)
		if s == "" {
			continue
		}
		if strings.HasPrefix(s, "unix:") {
			out = append(out, s)
			continue
		}
		inet6 := false
		switch {
		case strings.HasPrefix(s, "inet6:"):
			s, inet6 = strings.TrimPrefix(s, "inet6:"), true
		case strings.HasPrefix(s, "inet:"):
			s = strings.TrimPrefix(s, "inet:")
		}
		if inet6 && !strings.HasPrefix(s, "[") {
			return nil, fmt.Errorf("server %q: inet6: wants the address in brackets, as inet6:[::1]:11211", spec)
		}
		host, port, err := parseHostPort(s, 11211)
		if err != nil {
			return nil, fmt.Errorf("server %q: %v", spec, err)
		}
		if strings.Contains(host, ":") && !strings.HasPrefix(s, "[") {
			return nil, fmt.Errorf("server %q: an IPv6 address needs brackets, as inet6:[::1]:11211 or [::1]:11211", spec)
		}
		addr := net.JoinHostPort(host, strconv.Itoa(port))
		if strings.Contains(host, ":") {
			addr = inet6Prefix + addr
		}
		out = append(out, addr)
	}
	if len(out) == 0 {
		return nil, errors.New("no servers")
	}
	return out, nil
}

// parseHostPort splits host[:port] or [host][:port] as oslo_utils'
// netutils.parse_host_port does; a bare IPv6 address is a host alone.
// defPort is the port when none is given (0: none).
func parseHostPort(s string, defPort int) (string, int, error) {
	s = strings.TrimSpace(s)
	host, portText := s, ""
	switch {
	case strings.HasPrefix(s, "["):
		end := strings.IndexByte(s, ']')
		if end < 0 {
			return "", 0, errors.New("missing ] after the address")
		}
		host, portText = s[1:end], s[end+1:]
		if portText != "" {
			if !strings.HasPrefix(portText, ":") {
				return "", 0, fmt.Errorf("unexpected %q after ]", portText)
			}
			portText = portText[1:]
		}
	case strings.Count(s, ":") == 1:
		host, portText, _ = strings.Cut(s, ":")
	}
	if host == "" {
		return "", 0, errors.New("no host")
	}
	port := defPort
	if portText != "" {
		p, err := strconv.Atoi(portText)
		if err != nil || p < 1 || p > 65535 {
			return "", 0, fmt.Errorf("bad port %q", portText)
		}
		port = p
	}
	return host, port, nil
}
