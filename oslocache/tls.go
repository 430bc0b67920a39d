package oslocache

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"os"
)

// This file builds the *tls.Config that oslo.cache's
// ssl.create_default_context(cafile=tls_cafile), load_cert_chain and
// set_ciphers(tls_allowed_ciphers) stand for.

// loadRootCAs reads the PEM certificates of cafile. As with Python's
// create_default_context(cafile=...), they replace the system's roots.
func loadRootCAs(cafile string) (*x509.CertPool, error) {
	data, err := readPEMFile(cafile)
	if err != nil {
		return nil, fmt.Errorf("cannot read CA file: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(data) {
		return nil, fmt.Errorf("no PEM certificate in %s", cafile)
	}
	return pool, nil
}

// loadClientCert reads the client certificate and its key (from keyfile,
// else from certfile, as Python's load_cert_chain does).
func loadClientCert(certfile, keyfile string) (tls.Certificate, error) {
	if keyfile == "" {
		keyfile = certfile
	}
	certPEM, err := readPEMFile(certfile)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("cannot read the client certificate: %w", err)
	}
	keyPEM, err := readPEMFile(keyfile)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("cannot read the client key: %w", err)
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("cannot load the client certificate and key: %w", err)
	}
	return cert, nil
}

// maxPEMFile bounds a certificate or key file.
const maxPEMFile = 16 << 20

// readPEMFile reads a certificate or key file: a regular file (not a pipe
// or device, which could block or never end) of at most 16 MiB.
func readPEMFile(path string) ([]byte, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is not a regular file", path)
	}
	if st.Size() > maxPEMFile {
		return nil, fmt.Errorf("%s is larger than %d bytes", path, maxPEMFile)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(io.LimitReader(f, maxPEMFile))
}
