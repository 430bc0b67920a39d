// Package tlsciphers reads OpenSSL cipher lists (what Python's
// SSLContext.set_ciphers takes: oslo.cache's tls_allowed_ciphers, redis-py's
// ssl_ciphers) as the TLS 1.2 cipher suites Go implements, for
// tls.Config.CipherSuites.
package tlsciphers

import (
	"crypto/tls"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// cipherSuite is a TLS 1.2 (and older) cipher suite Go implements, with
// the attributes OpenSSL's cipher-list aliases select on.
type cipherSuite struct {
	openssl string // OpenSSL's name
	id      uint16
	kx      string // key exchange: ECDHE or RSA
	auth    string // authentication: ECDSA or RSA
	enc     string // AESGCM, CHACHA20, AES (CBC), 3DES, RC4
	bits    int    // key bits of the cipher
	mac     string // AEAD, SHA1, SHA256, SHA384
}

var cipherSuites = []cipherSuite{
	{"ECDHE-ECDSA-AES256-GCM-SHA384", tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384, "ECDHE", "ECDSA", "AESGCM", 256, "AEAD"},
	{"ECDHE-RSA-AES256-GCM-SHA384", tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384, "ECDHE", "RSA", "AESGCM", 256, "AEAD"},
	{"ECDHE-ECDSA-CHACHA20-POLY1305", tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256, "ECDHE", "ECDSA", "CHACHA20", 256, "AEAD"},
	{"ECDHE-RSA-CHACHA20-POLY1305", tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256, "ECDHE", "RSA", "CHACHA20", 256, "AEAD"},
	{"ECDHE-ECDSA-AES128-GCM-SHA256", tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, "ECDHE", "ECDSA", "AESGCM", 128, "AEAD"},
	{"ECDHE-RSA-AES128-GCM-SHA256", tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, "ECDHE", "RSA", "AESGCM", 128, "AEAD"},
	{"ECDHE-ECDSA-AES128-SHA256", tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256, "ECDHE", "ECDSA", "AES", 128, "SHA256"},
	{"ECDHE-RSA-AES128-SHA256", tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256, "ECDHE", "RSA", "AES", 128, "SHA256"},
	{"ECDHE-ECDSA-AES256-SHA", tls.TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA, "ECDHE", "ECDSA", "AES", 256, "SHA1"},
	{"ECDHE-RSA-AES256-SHA", tls.TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA, "ECDHE", "RSA", "AES", 256, "SHA1"},
	{"ECDHE-ECDSA-AES128-SHA", tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA, "ECDHE", "ECDSA", "AES", 128, "SHA1"},
	{"ECDHE-RSA-AES128-SHA", tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA, "ECDHE", "RSA", "AES", 128, "SHA1"},
	{"AES256-GCM-SHA384", tls.TLS_RSA_WITH_AES_256_GCM_SHA384, "RSA", "RSA", "AESGCM", 256, "AEAD"},
	{"AES128-GCM-SHA256", tls.TLS_RSA_WITH_AES_128_GCM_SHA256, "RSA", "RSA", "AESGCM", 128, "AEAD"},
	{"AES128-SHA256", tls.TLS_RSA_WITH_AES_128_CBC_SHA256, "RSA", "RSA", "AES", 128, "SHA256"},
	{"AES256-SHA", tls.TLS_RSA_WITH_AES_256_CBC_SHA, "RSA", "RSA", "AES", 256, "SHA1"},
	{"AES128-SHA", tls.TLS_RSA_WITH_AES_128_CBC_SHA, "RSA", "RSA", "AES", 128, "SHA1"},
	{"ECDHE-RSA-DES-CBC3-SHA", tls.TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA, "ECDHE", "RSA", "3DES", 112, "SHA1"},
	{"DES-CBC3-SHA", tls.TLS_RSA_WITH_3DES_EDE_CBC_SHA, "RSA", "RSA", "3DES", 112, "SHA1"},
	{"ECDHE-ECDSA-RC4-SHA", tls.TLS_ECDHE_ECDSA_WITH_RC4_128_SHA, "ECDHE", "ECDSA", "RC4", 128, "SHA1"},
	{"ECDHE-RSA-RC4-SHA", tls.TLS_ECDHE_RSA_WITH_RC4_128_SHA, "ECDHE", "RSA", "RC4", 128, "SHA1"},
	{"RC4-SHA", tls.TLS_RSA_WITH_RC4_128_SHA, "RSA", "RSA", "RC4", 128, "SHA1"},
}

// cipherAliases are OpenSSL's cipher classes, as predicates over the suites
// Go has. Classes of suites Go does not implement (aNULL, eNULL, EXPORT,
// DHE, PSK, CAMELLIA, ...) select nothing.
var cipherAliases = map[string]func(cipherSuite) bool{
	"ALL":      func(cipherSuite) bool { return true },
	"DEFAULT":  func(s cipherSuite) bool { return isGoDefaultSuite(s.id) },
	"HIGH":     func(s cipherSuite) bool { return s.enc == "AESGCM" || s.enc == "CHACHA20" || s.enc == "AES" },
	"MEDIUM":   func(s cipherSuite) bool { return s.enc == "3DES" || s.enc == "RC4" },
	"ECDHE":    func(s cipherSuite) bool { return s.kx == "ECDHE" },
	"EECDH":    func(s cipherSuite) bool { return s.kx == "ECDHE" },
	"kECDHE":   func(s cipherSuite) bool { return s.kx == "ECDHE" },
	"kEECDH":   func(s cipherSuite) bool { return s.kx == "ECDHE" },
	"RSA":      func(s cipherSuite) bool { return s.kx == "RSA" },
	"kRSA":     func(s cipherSuite) bool { return s.kx == "RSA" },
	"aRSA":     func(s cipherSuite) bool { return s.auth == "RSA" },
	"ECDSA":    func(s cipherSuite) bool { return s.auth == "ECDSA" },
	"aECDSA":   func(s cipherSuite) bool { return s.auth == "ECDSA" },
	"AES":      func(s cipherSuite) bool { return s.enc == "AES" || s.enc == "AESGCM" },
	"AES128":   func(s cipherSuite) bool { return (s.enc == "AES" || s.enc == "AESGCM") && s.bits == 128 },
	"AES256":   func(s cipherSuite) bool { return (s.enc == "AES" || s.enc == "AESGCM") && s.bits == 256 },
	"AESGCM":   func(s cipherSuite) bool { return s.enc == "AESGCM" },
	"CHACHA20": func(s cipherSuite) bool { return s.enc == "CHACHA20" },
	"3DES":     func(s cipherSuite) bool { return s.enc == "3DES" },
	"RC4":      func(s cipherSuite) bool { return s.enc == "RC4" },
	"SHA1":     func(s cipherSuite) bool { return s.mac == "SHA1" },
	"SHA":      func(s cipherSuite) bool { return s.mac == "SHA1" },
	"SHA256":   func(s cipherSuite) bool { return s.mac == "SHA256" || (s.mac == "AEAD" && s.bits == 128) },
	"SHA384":   func(s cipherSuite) bool { return s.mac == "AEAD" && s.enc == "AESGCM" && s.bits == 256 },
}

// emptyCipherClasses are OpenSSL classes of suites Go does not implement.
var emptyCipherClasses = []string{
	"aNULL", "eNULL", "NULL", "COMPLEMENTOFALL", "COMPLEMENTOFDEFAULT", "LOW", "EXPORT", "EXP", "EXPORT40", "EXPORT56",
	"MD5", "DES", "IDEA", "SEED", "CAMELLIA", "CAMELLIA128", "CAMELLIA256", "ARIA", "ARIA128", "ARIA256", "ARIAGCM",
	"PSK", "kPSK", "aPSK", "ECDHEPSK", "DHEPSK", "RSAPSK", "SRP", "kSRP", "aSRP", "DSS", "aDSS", "DH", "DHE", "EDH",
	"kDHE", "kEDH", "kDH", "ADH", "AECDH", "aECDH", "kECDH", "AESCCM", "AESCCM8", "CBC", "GOST94", "GOST89MAC",
	"aGOST", "kGOST", "aGOST01", "SUITEB128", "SUITEB128ONLY", "SUITEB192", "RC2", "SSLv3", "TLSv1", "TLSv1.0", "TLSv1.2",
}

func isGoDefaultSuite(id uint16) bool {
	for _, s := range tls.CipherSuites() {
		if s.ID == id {
			return true
		}
	}
	return false
}

// tls13Suites are the TLS 1.3 suite names, which OpenSSL's cipher list
// does not choose (Python's set_ciphers leaves them alone; so does Go).
var tls13Suites = []string{"TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256", "TLS_AES_128_CCM_SHA256", "TLS_AES_128_CCM_8_SHA256"}

// Parse evaluates an OpenSSL cipher list (SSL_CTX_set_cipher_list
// syntax: items separated by ':', ',' or spaces; an item is a suite name,
// an OpenSSL class or several joined by '+' (all of them); '!' removes for
// good, '-' removes, '+' moves to the end; @STRENGTH sorts strongest first;
// @SECLEVEL=n is accepted) over the suites Go implements, and returns their
// IDs. Go's own IANA names (TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256) are
// accepted too. An unknown item, or a list that selects nothing, is an
// error.
func Parse(list string) ([]uint16, error) {
	items := strings.FieldsFunc(list, func(r rune) bool { return r == ':' || r == ',' || r == ' ' || r == ';' })
	if len(items) == 0 {
		return nil, errors.New("the cipher list is empty")
	}
	var chosen []cipherSuite
	banned := map[uint16]bool{}
	for _, item := range items {
		op := byte(0)
		if strings.ContainsRune("!-+", rune(item[0])) {
			op, item = item[0], item[1:]
		}
		if item == "@STRENGTH" {
			slices.SortStableFunc(chosen, func(a, b cipherSuite) int { return b.bits - a.bits })
			continue
		}
		if strings.HasPrefix(item, "@SECLEVEL=") {
			continue
		}
		match, err := cipherMatcher(item)
		if err != nil {
			return nil, err
		}
		switch op {
		case '!':
			for _, s := range cipherSuites {
				if match(s) {
					banned[s.id] = true
				}
			}
			chosen = slices.DeleteFunc(chosen, match)
		case '-':
			chosen = slices.DeleteFunc(chosen, match)
		case '+':
			var moved []cipherSuite
			chosen = slices.DeleteFunc(chosen, func(s cipherSuite) bool {
				if match(s) {
					moved = append(moved, s)
					return true
				}
				return false
			})
			chosen = append(chosen, moved...)
		default:
			for _, s := range cipherSuites {
				if match(s) && !banned[s.id] && !slices.ContainsFunc(chosen, func(c cipherSuite) bool { return c.id == s.id }) {
					chosen = append(chosen, s)
				}
			}
		}
	}
	if len(chosen) == 0 {
		return nil, fmt.Errorf("%q selects no TLS 1.2 cipher suite Go implements", list)
	}
	ids := make([]uint16, len(chosen))
	for i, s := range chosen {
		ids[i] = s.id
	}
	return ids, nil
}

// cipherMatcher returns the predicate for one cipher-list item: a suite
// name (OpenSSL's or IANA's), a class, or classes joined by '+'.
func cipherMatcher(item string) (func(cipherSuite) bool, error) {
	parts := strings.Split(item, "+")
	preds := make([]func(cipherSuite) bool, 0, len(parts))
	for _, p := range parts {
		pred, err := cipherPredicate(p)
		if err != nil {
			return nil, err
		}
		preds = append(preds, pred)
	}
	return func(s cipherSuite) bool {
		for _, p := range preds {
			if !p(s) {
				return false
			}
		}
		return true
	}, nil
}

func cipherPredicate(name string) (func(cipherSuite) bool, error) {
	if p, ok := cipherAliases[name]; ok {
		return p, nil
	}
	if slices.Contains(emptyCipherClasses, name) {
		return func(cipherSuite) bool { return false }, nil
	}
	for _, s := range cipherSuites {
		if s.openssl == name || tls.CipherSuiteName(s.id) == name {
			id := s.id
			return func(c cipherSuite) bool { return c.id == id }, nil
		}
	}
	if slices.Contains(tls13Suites, name) {
		return nil, fmt.Errorf("%s is a TLS 1.3 suite, which a cipher list does not choose (Python's set_ciphers ignores it too); Go always offers its TLS 1.3 suites", name)
	}
	return nil, fmt.Errorf("unknown cipher or class %q (known: OpenSSL names such as ECDHE-RSA-AES128-GCM-SHA256, Go's TLS_* names, and classes such as HIGH, DEFAULT, ECDHE, AESGCM, !aNULL)", name)
}
