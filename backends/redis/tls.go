package redis

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/dogpile-go/dogpile/internal/tlsciphers"
	"github.com/dogpile-go/dogpile/region"
)

// tlsSettings are redis-py's ssl arguments.
type tlsSettings struct {
	certFile, keyFile string
	caCerts, caData   string // a PEM file, PEM text
	caPath            string // a directory of PEM files
	verify            bool   // ssl_cert_reqs is not "none"
	checkHostname     bool
	ciphers           []uint16 // ssl_ciphers; nil: Go's defaults
}

// tlsArgs are the ssl_* settings, which need ssl.
var tlsArgs = []string{"ssl_keyfile", "ssl_certfile", "ssl_cert_reqs", "ssl_ca_certs", "ssl_ca_data", "ssl_ca_path", "ssl_check_hostname", "ssl_ciphers"}

// readTLS reads ssl and the ssl_* settings as redis-py does and builds the
// TLS configuration (nil without ssl): with ssl,
// the server's certificate is verified against ssl_ca_certs (or the
// system's roots) unless ssl_cert_reqs is "none", and its host name is
// checked only with ssl_check_hostname (redis-py's default is not to).
func readTLS(s *settings) (*tls.Config, error) {
	a := s.args()
	on, err := a.Bool("ssl", false)
	if err != nil {
		return nil, &region.ArgumentError{Name: s.origin("ssl"), Value: a["ssl"], Want: "a boolean"}
	}
	if !on {
		for _, n := range tlsArgs {
			if s.has(n) {
				return nil, &RefusedArgumentError{Name: s.origin(n), Reason: "it needs ssl=true (redis-py refuses it without TLS too)"}
			}
		}
		return nil, nil
	}
	t := &tlsSettings{verify: true}
	str := func(name string, dst *string) error {
		v, err := a.String(name, "")
		if err != nil {
			return &region.ArgumentError{Name: s.origin(name), Value: a[name], Want: "a string"}
		}
		*dst = v
		return nil
	}
	for name, dst := range map[string]*string{"ssl_certfile": &t.certFile, "ssl_keyfile": &t.keyFile,
		"ssl_ca_certs": &t.caCerts, "ssl_ca_data": &t.caData, "ssl_ca_path": &t.caPath} {
		if err := str(name, dst); err != nil {
			return nil, err
		}
	}
	if t.keyFile != "" && t.certFile == "" {
		return nil, &region.ArgumentError{Name: s.origin("ssl_keyfile"), Value: t.keyFile, Want: "a key next to ssl_certfile"}
	}
	switch v := a["ssl_cert_reqs"]; v {
	case nil, "required", "REQUIRED", "CERT_REQUIRED", "ssl.CERT_REQUIRED", 2, "optional", "OPTIONAL", "CERT_OPTIONAL", "ssl.CERT_OPTIONAL", 1:
		// A server always presents a certificate, so "optional" verifies
		// it as "required" does.
	case "none", "NONE", "CERT_NONE", "ssl.CERT_NONE", 0:
		t.verify = false
	default:
		return nil, &region.ArgumentError{Name: s.origin("ssl_cert_reqs"), Value: v, Want: `"required", "optional" or "none"`}
	}
	if t.checkHostname, err = a.Bool("ssl_check_hostname", false); err != nil {
		return nil, &region.ArgumentError{Name: s.origin("ssl_check_hostname"), Value: a["ssl_check_hostname"], Want: "a boolean"}
	}
	if t.checkHostname && !t.verify {
		return nil, &region.ArgumentError{Name: s.origin("ssl_check_hostname"), Value: true, Want: `false when ssl_cert_reqs is "none"`}
	}
	if s.has("ssl_ciphers") {
		list, err := a.String("ssl_ciphers", "")
		if err == nil {
			t.ciphers, err = tlsciphers.Parse(list)
		}
		if err != nil {
			return nil, &region.ArgumentError{Name: s.origin("ssl_ciphers"), Value: a["ssl_ciphers"],
				Want: "an OpenSSL cipher list naming TLS 1.2 suites Go implements, such as ECDHE+AESGCM:!aNULL", Err: err}
		}
	}
	return t.config()
}

// config returns the TLS configuration (files read now). The dialer sets
// the server name of each connection.
func (t *tlsSettings) config() (*tls.Config, error) {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, CipherSuites: t.ciphers}
	if t.certFile != "" {
		key := t.keyFile
		if key == "" {
			key = t.certFile // redis-py: the key may be in the certificate file
		}
		cert, err := tls.LoadX509KeyPair(t.certFile, key)
		if err != nil {
			return nil, &region.ArgumentError{Name: "ssl_certfile", Value: t.certFile, Want: "a PEM certificate (and ssl_keyfile its key)", Err: err}
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	var roots *x509.CertPool
	addPEM := func(name string, value string, pem []byte) error {
		if roots == nil {
			roots = x509.NewCertPool()
		}
		if !roots.AppendCertsFromPEM(pem) {
			return &region.ArgumentError{Name: name, Value: value, Want: "PEM certificates"}
		}
		return nil
	}
	if t.caCerts != "" {
		pem, err := os.ReadFile(t.caCerts)
		if err != nil {
			return nil, &region.ArgumentError{Name: "ssl_ca_certs", Value: t.caCerts, Want: "a readable PEM file", Err: err}
		}
		if err := addPEM("ssl_ca_certs", t.caCerts, pem); err != nil {
			return nil, err
		}
	}
	if t.caData != "" {
		if err := addPEM("ssl_ca_data", t.caData, []byte(t.caData)); err != nil {
			return nil, err
		}
	}
	if t.caPath != "" {
		entries, err := os.ReadDir(t.caPath)
		if err != nil {
			return nil, &region.ArgumentError{Name: "ssl_ca_path", Value: t.caPath, Want: "a readable directory of PEM files", Err: err}
		}
		found := false
		for _, e := range entries {
			if e.IsDir() {
				continue
			}
			pem, err := os.ReadFile(filepath.Join(t.caPath, e.Name()))
			if err == nil && strings.Contains(string(pem), "-----BEGIN CERTIFICATE-----") {
				if roots == nil {
					roots = x509.NewCertPool()
				}
				found = roots.AppendCertsFromPEM(pem) || found
			}
		}
		if !found {
			return nil, &region.ArgumentError{Name: "ssl_ca_path", Value: t.caPath, Want: "a directory holding PEM certificates"}
		}
	}
	cfg.RootCAs = roots
	switch {
	case !t.verify:
		cfg.InsecureSkipVerify = true
	case !t.checkHostname:
		// Verify the chain, not the name (redis-py's default).
		cfg.InsecureSkipVerify = true
		cfg.VerifyConnection = func(cs tls.ConnectionState) error {
			if len(cs.PeerCertificates) == 0 {
				return errors.New("redis: TLS server sent no certificate")
			}
			opts := x509.VerifyOptions{Roots: roots, Intermediates: x509.NewCertPool()}
			for _, c := range cs.PeerCertificates[1:] {
				opts.Intermediates.AddCert(c)
			}
			if _, err := cs.PeerCertificates[0].Verify(opts); err != nil {
				return fmt.Errorf("redis: TLS server certificate: %w", err)
			}
			return nil
		}
	}
	return cfg, nil
}
