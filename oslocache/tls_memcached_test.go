package oslocache

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/bradfitz/gomemcache/memcache"

	_ "github.com/dogpile-go/dogpile/backends/memcache" // the dogpile.cache and oslo.cache memcached names
	"github.com/dogpile-go/dogpile/internal/testservers"
	"github.com/dogpile-go/dogpile/region"
)

// Ports for the private TLS memcached of these tests.
const tlsPortFirst, tlsPortLast = 22300, 22399

// startTLSMemcached starts a memcached with TLS on (-Z) and the test PKI's
// server certificate, on a free loopback port of 22300-22399. With
// requireClientCert it also asks clients for a certificate signed by the
// test CA. It is killed when the test ends.
func startTLSMemcached(t *testing.T, pki testPKI, requireClientCert bool) string {
	t.Helper()
	bin := testservers.MemcachedBin(t)
	ext := "ssl_chain_cert=" + pki.ServerCert + ",ssl_key=" + pki.ServerKey
	if requireClientCert {
		ext += ",ssl_verify_mode=2,ssl_ca_cert=" + pki.CAFile
	}
	for port := tlsPortFirst; port <= tlsPortLast; port++ {
		addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
		l, err := net.Listen("tcp", addr)
		if err != nil {
			continue // taken
		}
		l.Close()
		args := []string{"-Z", "-o", ext, "-l", "127.0.0.1", "-p", strconv.Itoa(port), "-U", "0", "-m", "16"}
		if os.Geteuid() == 0 {
			args = append(args, "-u", "root")
		}
		cmd := exec.Command(bin, args...)
		var stderr strings.Builder
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatalf("start %s: %v", bin, err)
		}
		exited := make(chan error, 1)
		go func() { exited <- cmd.Wait() }()
		stop := func() {
			_ = cmd.Process.Kill()
			<-exited
		}
		if waitTLS(addr, pki, exited) {
			t.Cleanup(stop)
			return addr
		}
		stop()
		if !strings.Contains(stderr.String(), "bind") && !strings.Contains(stderr.String(), "in use") {
			t.Fatalf("memcached -Z on %s did not start: %s", addr, stderr.String())
		}
	}
	t.Fatalf("no free port in %d-%d for a TLS memcached", tlsPortFirst, tlsPortLast)
	return ""
}

// waitTLS waits until memcached answers a TLS handshake on addr, or exits.
func waitTLS(addr string, pki testPKI, exited <-chan error) bool {
	pool := x509.NewCertPool()
	ca, _ := os.ReadFile(pki.CAFile)
	pool.AppendCertsFromPEM(ca)
	cert, _ := tls.LoadX509KeyPair(pki.ClientCert, pki.ClientKey)
	cfg := &tls.Config{RootCAs: pool, Certificates: []tls.Certificate{cert}}
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-exited:
			return false
		default:
		}
		d := tls.Dialer{NetDialer: &net.Dialer{Timeout: time.Second}, Config: cfg}
		if c, err := d.DialContext(context.Background(), "tcp", addr); err == nil {
			c.Close()
			return true
		}
		time.Sleep(20 * time.Millisecond)
	}
	return false
}

// tlsContext maps a [cache] section for pymemcache with TLS and returns
// its tls_context.
func tlsContext(t *testing.T, addr string, lines ...string) *tls.Config {
	t.Helper()
	text := "[cache]\nenabled = true\nbackend = dogpile.cache.pymemcache\ntls_enabled = true\nmemcache_servers = " + addr + "\n" + strings.Join(lines, "\n") + "\n"
	s, err := mustParse(t, text).RegionSettings()
	if err != nil {
		t.Fatal(err)
	}
	cfg, ok := s.Arguments["tls_context"].(*tls.Config)
	if !ok {
		t.Fatalf("tls_context %T", s.Arguments["tls_context"])
	}
	return cfg
}

// tlsClient is a gomemcache client that dials addr with cfg.
func tlsClient(addr string, cfg *tls.Config) *memcache.Client {
	c := memcache.New(addr)
	c.Timeout = 5 * time.Second
	c.DialContext = (&tls.Dialer{NetDialer: &net.Dialer{Timeout: 5 * time.Second}, Config: cfg.Clone()}).DialContext
	return c
}

// TestTLSMemcached: the *tls.Config that tls_enabled, tls_cafile,
// tls_certfile and tls_keyfile build connects to a memcached started with
// -Z, and fails clearly with the wrong CA or without a client certificate
// the server requires.
func TestTLSMemcached(t *testing.T) {
	pki := newTestPKI(t)
	addr := startTLSMemcached(t, pki, false)

	c := tlsClient(addr, tlsContext(t, addr, "tls_cafile = "+pki.CAFile, "tls_allowed_ciphers = ECDHE+AESGCM"))
	if err := c.Set(&memcache.Item{Key: "oslocache-tls", Value: []byte("over TLS")}); err != nil {
		t.Fatalf("set over TLS: %v", err)
	}
	it, err := c.Get("oslocache-tls")
	if err != nil || string(it.Value) != "over TLS" {
		t.Fatalf("get over TLS: %v, %v", it, err)
	}
	c.Close()

	wrong := tlsClient(addr, tlsContext(t, addr, "tls_cafile = "+pki.OtherCAFile))
	defer wrong.Close()
	_, err = wrong.Get("oslocache-tls")
	var unknownCA x509.UnknownAuthorityError
	if !errors.As(err, &unknownCA) {
		t.Fatalf("wrong CA: err = %v, want x509.UnknownAuthorityError", err)
	}

	// A server that requires client certificates.
	mtls := startTLSMemcached(t, pki, true)
	withCert := tlsClient(mtls, tlsContext(t, mtls, "tls_cafile = "+pki.CAFile, "tls_certfile = "+pki.ClientCert, "tls_keyfile = "+pki.ClientKey))
	defer withCert.Close()
	if err := withCert.Set(&memcache.Item{Key: "oslocache-mtls", Value: []byte("x")}); err != nil {
		t.Fatalf("set with a client certificate: %v", err)
	}
	noCert := tlsClient(mtls, tlsContext(t, mtls, "tls_cafile = "+pki.CAFile))
	defer noCert.Close()
	if err := noCert.Set(&memcache.Item{Key: "oslocache-mtls", Value: []byte("x")}); err == nil {
		t.Fatal("set without a client certificate succeeded on a server that requires one")
	}
}

// TestTLSRegion configures a region with tls_enabled against a memcached
// started with -Z: values go over TLS; with the wrong CA the region's calls
// fail with the certificate error, for both memcached names that take
// tls_context (registered by backends/memcache, imported above).
func TestTLSRegion(t *testing.T) {
	for _, backend := range []string{"dogpile.cache.pymemcache", "oslo_cache.memcache_pool"} {
		t.Run(backend, func(t *testing.T) {
			pki := newTestPKI(t)
			addr := startTLSMemcached(t, pki, false)
			conf := func(ca string) *Config {
				return mustParse(t, fmt.Sprintf("[cache]\nenabled = true\nbackend = %s\nmemcache_servers = %s\ntls_enabled = true\ntls_cafile = %s\n", backend, addr, ca))
			}
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			r := CreateRegion("tls", region.WithStrictBackendErrors())
			if err := conf(pki.CAFile).ConfigureCacheRegion(r); err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			if err := r.Set(ctx, "tls-key", "over TLS"); err != nil {
				t.Fatalf("set: %v", err)
			}
			if v, ok, err := region.GetAs[string](ctx, r, "tls-key"); err != nil || !ok || v != "over TLS" {
				t.Fatalf("get: %v, %v, %v", v, ok, err)
			}
			bad := CreateRegion("tls-wrong-ca", region.WithStrictBackendErrors())
			if err := conf(pki.OtherCAFile).ConfigureCacheRegion(bad); err != nil {
				t.Fatal(err)
			}
			defer bad.Close()
			err := bad.Set(ctx, "tls-key", "x")
			var unknownCA x509.UnknownAuthorityError
			if !errors.As(err, &unknownCA) && !strings.Contains(fmt.Sprint(err), "certificate signed by unknown authority") {
				t.Fatalf("wrong CA: err = %v, want a certificate error", err)
			}
		})
	}
}
