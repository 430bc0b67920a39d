package redis_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/dogpile-go/dogpile/internal/testservers"
	"github.com/dogpile-go/dogpile/region"
)

// writeTLSFiles makes a CA and a server certificate for the DNS name
// "redis.test" only (not the loopback address the tests dial), and writes
// them as PEM files in dir.
func writeTLSFiles(t *testing.T, dir string) (caFile, certFile, keyFile string) {
	t.Helper()
	write := func(name, typ string, der []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ca := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "dogpile test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, ca, ca, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	caCert, _ := x509.ParseCertificate(caDER)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	leaf := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "redis.test"}, DNSNames: []string{"redis.test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	leafDER, err := x509.CreateCertificate(rand.Reader, leaf, caCert, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, _ := x509.MarshalECPrivateKey(key)
	return write("ca.pem", "CERTIFICATE", caDER), write("server.pem", "CERTIFICATE", leafDER), write("server.key", "EC PRIVATE KEY", keyDER)
}

// startTLSRedis starts a redis-server that speaks TLS only, stopped when
// the test ends, and returns its address and the CA file. extra are more
// redis-server options.
func startTLSRedis(t *testing.T, extra ...string) (addr, caFile string) {
	t.Helper()
	bin := testservers.RedisBin(t)
	dir := t.TempDir()
	caFile, certFile, keyFile := writeTLSFiles(t, dir)
	addr = testservers.ClosedAddr(t)
	_, port, _ := net.SplitHostPort(addr)
	cmd := exec.Command(bin, "--port", "0", "--tls-port", port, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
		"--dir", dir, "--tls-cert-file", certFile, "--tls-key-file", keyFile, "--tls-ca-cert-file", caFile, "--tls-auth-clients", "no")
	cmd.Args = append(cmd.Args, extra...)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	probe := goredis.NewClient(&goredis.Options{Addr: addr, TLSConfig: &tls.Config{InsecureSkipVerify: true}, MaxRetries: -1})
	defer probe.Close()
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		info, err := probe.Info(context.Background(), "server").Result()
		if err == nil && strings.Contains(info, "process_id:"+strconv.Itoa(cmd.Process.Pid)) {
			return addr, caFile
		}
		if time.Now().After(deadline) {
			t.Fatalf("TLS redis-server on %s did not answer: %v", addr, err)
		}
	}
}

// ssl and the ssl_* connection arguments mean what they mean to redis-py:
// the server's chain is verified (against ssl_ca_certs), its host name only
// with ssl_check_hostname, nothing with ssl_cert_reqs "none".
func TestTLS(t *testing.T) {
	addr, caFile := startTLSRedis(t)
	host, port, _ := net.SplitHostPort(addr)
	base := region.Arguments{"host": host, "port": port, "socket_timeout": 5}
	for _, tc := range []struct {
		name   string
		args   region.Arguments
		failed string // "" when the connection must work, else part of the error
	}{
		{"ca, no host name check", with(base, region.Arguments{"ssl": true, "connection_kwargs": map[string]any{"ssl_ca_certs": caFile}}), ""},
		{"rediss url", region.Arguments{"url": "rediss://" + addr + "/0", "connection_kwargs": map[string]any{"ssl_ca_certs": caFile}}, ""},
		{"host name checked", with(base, region.Arguments{"ssl": true, "connection_kwargs": map[string]any{"ssl_ca_certs": caFile, "ssl_check_hostname": true}}), "doesn't contain any IP SANs"},
		{"unknown CA", with(base, region.Arguments{"ssl": true}), "unknown authority"},
		{"no verification", with(base, region.Arguments{"ssl": true, "connection_kwargs": map[string]any{"ssl_cert_reqs": "none"}}), ""},
		{"plain text to a TLS port", base, "EOF"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := testCtx(t)
			r := newRegion(t, jsonRegion, "dogpile.cache.redis", tc.args)
			err := r.Set(ctx, "tls-key", "v")
			switch {
			case tc.failed == "" && err != nil:
				t.Fatalf("Set over TLS: %v", err)
			case tc.failed == "":
				if v, ok, err := r.Get(ctx, "tls-key"); err != nil || !ok || v != "v" {
					t.Fatalf("Get over TLS = %v, %v, %v", v, ok, err)
				}
			case err == nil:
				t.Fatal("Set succeeded; want a failed connection")
			case !strings.Contains(err.Error(), tc.failed):
				t.Fatalf("Set = %v; want an error about %q", err, tc.failed)
			default:
				t.Logf("refused as it should be: %v", err)
			}
		})
	}
}

// ssl_ciphers is an OpenSSL cipher list, as for redis-py: it chooses the
// TLS 1.2 suites offered (the server's certificate here is ECDSA, so
// RSA-authenticated suites cannot be agreed).
func TestTLSCiphers(t *testing.T) {
	addr, caFile := startTLSRedis(t, "--tls-protocols", "TLSv1.2")
	host, port, _ := net.SplitHostPort(addr)
	args := func(list string) region.Arguments {
		return region.Arguments{"host": host, "port": port, "socket_timeout": 5, "ssl": true,
			"connection_kwargs": map[string]any{"ssl_ca_certs": caFile, "ssl_ciphers": list}}
	}
	ctx := testCtx(t)
	if err := newRegion(t, jsonRegion, "dogpile.cache.redis", args("ECDHE-ECDSA-AES128-GCM-SHA256:!aNULL")).Set(ctx, "tls-key", "v"); err != nil {
		t.Fatalf("Set with an ECDSA suite: %v", err)
	}
	err := newRegion(t, jsonRegion, "dogpile.cache.redis", args("aRSA+AESGCM")).Set(ctx, "tls-key", "v")
	if err == nil || !strings.Contains(err.Error(), "handshake failure") {
		t.Fatalf("Set with RSA suites only = %v; want a handshake failure", err)
	}
	r := region.New(t.Name())
	err = r.Configure("dogpile.cache.redis", region.WithArguments(args("BOGUS")))
	if !errors.Is(err, region.ErrBadArgument) || !strings.Contains(err.Error(), "connection_kwargs.ssl_ciphers") || !strings.Contains(err.Error(), `"BOGUS"`) {
		t.Fatalf("Configure with a bad list = %v; want connection_kwargs.ssl_ciphers refused, naming BOGUS", err)
	}
}
