package oslocache

import (
	"crypto/fips140"
	"crypto/tls"
	"net"
	"slices"
	"strings"
	"time"

	"github.com/dogpile-go/dogpile/internal/tlsciphers"
)

// This file maps the options that reach the backends' connections: TLS
// (tls_enabled and its files and ciphers) and TCP keepalive.

var tlsOptions = []string{"tls_cafile", "tls_certfile", "tls_keyfile", "tls_allowed_ciphers", "enforce_fips_mode"}

func (m *mapper) tls() {
	if m.use("tls_enabled").v != true {
		for _, o := range tlsOptions {
			if ov := m.opt(o); ov.set {
				m.used[o] = true
				m.note(o, ov.pos, "no effect: tls_enabled is false")
			}
		}
		return
	}
	for _, o := range tlsOptions {
		m.used[o] = true
	}
	if !slices.Contains(tlsBackends, m.backend) {
		m.fail(ErrBadValue, "tls_enabled", "TLS is not supported by the %s backend (newer oslo.cache refuses it too); use %s, or set tls_enabled = false",
			m.backend, strings.Join(tlsBackends, ", "))
		return
	}
	str := func(name string) string { s, _ := m.opt(name).v.(string); return s }
	if m.opt("enforce_fips_mode").v == true && !fips140.Enabled() {
		m.fail(ErrUnsupported, "enforce_fips_mode", "Go's FIPS 140-3 mode is off, and a running program cannot switch it on: start the program with GODEBUG=fips140=on (or build it with GOFIPS140)")
	}
	if slices.Contains(redisBackends, m.backend) {
		kw := map[string]any{"ssl": true}
		for opt, key := range map[string]string{"tls_cafile": "ssl_ca_certs", "tls_certfile": "ssl_certfile", "tls_keyfile": "ssl_keyfile", "tls_allowed_ciphers": "ssl_ciphers"} {
			if s := str(opt); s != "" {
				kw[key] = s
			}
		}
		if list := str("tls_allowed_ciphers"); list != "" {
			if _, err := tlsciphers.Parse(list); err != nil {
				m.fail(ErrBadValue, "tls_allowed_ciphers", "%v", err)
			}
		}
		if s := str("tls_keyfile"); s != "" && str("tls_certfile") == "" {
			delete(kw, "ssl_keyfile")
			m.note("tls_keyfile", m.opt("tls_keyfile").pos, "no effect without tls_certfile, as in oslo.cache")
		}
		m.setArg("connection_kwargs", kw, "tls_enabled")
		if m.backend == "dogpile.cache.redis_sentinel" {
			m.setArg("sentinel_kwargs", kw, "tls_enabled")
		}
		return
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if f := str("tls_cafile"); f != "" {
		pool, err := loadRootCAs(f)
		if err != nil {
			m.fail(ErrBadValue, "tls_cafile", "%v", err)
		}
		cfg.RootCAs = pool
	}
	if f := str("tls_certfile"); f != "" {
		cert, err := loadClientCert(f, str("tls_keyfile"))
		if err != nil {
			m.fail(ErrBadValue, "tls_certfile", "%v", err)
		} else {
			cfg.Certificates = []tls.Certificate{cert}
		}
	} else if ov := m.opt("tls_keyfile"); ov.set {
		m.note("tls_keyfile", ov.pos, "no effect without tls_certfile, as in oslo.cache")
	}
	if list := str("tls_allowed_ciphers"); list != "" {
		ids, err := tlsciphers.Parse(list)
		if err != nil {
			m.fail(ErrBadValue, "tls_allowed_ciphers", "%v", err)
		}
		cfg.CipherSuites = ids
	}
	m.setArg("tls_context", cfg, "tls_enabled")
}

var keepaliveOptions = []string{"socket_keepalive_idle", "socket_keepalive_interval", "socket_keepalive_count"}

func (m *mapper) keepalive() {
	if m.use("enable_socket_keepalive").v != true {
		m.unusedUnless("enable_socket_keepalive is false", keepaliveOptions...)
		return
	}
	for _, o := range keepaliveOptions {
		m.used[o] = true
	}
	isRedis := slices.Contains(redisBackends, m.backend)
	if m.backend != "dogpile.cache.pymemcache" && !isRedis {
		m.fail(ErrBadValue, "enable_socket_keepalive", "socket keepalive is only supported by the dogpile.cache.pymemcache backend (and, in newer oslo.cache, the Redis backends), not %s", m.backend)
		return
	}
	var secs [3]int64
	for i, o := range keepaliveOptions {
		v, ok := m.need(o, m.opt(o))
		if !ok {
			return
		}
		secs[i] = v.(int64)
		if secs[i] < 1 {
			m.fail(ErrBadValue, o, "cannot use %d with enable_socket_keepalive: want 1 or more (a zero would mean the system's default, not what the option says)", secs[i])
			return
		}
	}
	ka := net.KeepAliveConfig{Enable: true, Idle: time.Duration(secs[0]) * time.Second, Interval: time.Duration(secs[1]) * time.Second, Count: int(secs[2])}
	if isRedis {
		m.setArg("socket_keepalive", true, "enable_socket_keepalive")
		m.setArg("socket_keepalive_options", ka, "enable_socket_keepalive")
		return
	}
	m.setArg("socket_keepalive", ka, "enable_socket_keepalive")
}
