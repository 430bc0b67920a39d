package tlsciphers

import (
	"crypto/tls"
	"reflect"
	"strings"
	"testing"
)

func TestCipherList(t *testing.T) {
	ids := func(names ...string) []uint16 {
		var out []uint16
		for _, n := range names {
			for _, s := range cipherSuites {
				if s.openssl == n {
					out = append(out, s.id)
				}
			}
		}
		return out
	}
	cases := []struct {
		list string
		want []uint16
		err  string
	}{
		{"ECDHE-RSA-AES128-GCM-SHA256", ids("ECDHE-RSA-AES128-GCM-SHA256"), ""},
		{"TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, AES256-SHA", ids("ECDHE-RSA-AES128-GCM-SHA256", "AES256-SHA"), ""},
		{"ECDHE+AESGCM:!aNULL:!eNULL:!MD5", ids("ECDHE-ECDSA-AES256-GCM-SHA384", "ECDHE-RSA-AES256-GCM-SHA384", "ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-RSA-AES128-GCM-SHA256"), ""},
		{"aRSA+AESGCM:-AES256:@STRENGTH", ids("ECDHE-RSA-AES128-GCM-SHA256", "AES128-GCM-SHA256"), ""},
		{"RC4:!RC4-SHA", ids("ECDHE-ECDSA-RC4-SHA", "ECDHE-RSA-RC4-SHA"), ""},
		{"!RSA:HIGH+RSA", nil, "selects no TLS 1.2 cipher suite"},
		{"HIGH:+CHACHA20:@SECLEVEL=2", nil, ""},
		{"TLS_AES_128_GCM_SHA256", nil, "is a TLS 1.3 suite"},
		{"BOGUS", nil, `unknown cipher or class "BOGUS"`},
		{"::", nil, "empty"},
	}
	for _, c := range cases {
		got, err := Parse(c.list)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%q: err = %v, want one saying %q", c.list, err, c.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%q: %v", c.list, err)
			continue
		}
		if c.want != nil && !reflect.DeepEqual(got, c.want) {
			t.Errorf("%q: got %v, want %v", c.list, got, c.want)
		}
	}
	high, _ := Parse("HIGH:+CHACHA20")
	last := high[len(high)-1]
	if last != tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256 {
		t.Errorf("+CHACHA20 did not move CHACHA20 to the end: %v", high)
	}
	def, _ := Parse("DEFAULT")
	if len(def) != len(tls.CipherSuites())-3 { // tls.CipherSuites lists the three TLS 1.3 suites too
		t.Errorf("DEFAULT selects %d suites, Go's defaults are %d", len(def), len(tls.CipherSuites())-3)
	}
}

// FuzzParse: any list either gives suites Go implements, without repeats,
// or an error; never a panic.
func FuzzParse(f *testing.F) {
	for _, s := range []string{"HIGH:!aNULL", "ECDHE+AESGCM:-AES256:@STRENGTH", "DEFAULT:+RC4", "!ALL:AES128-SHA", "@SECLEVEL=1:ALL", "+", "-", "!"} {
		f.Add(s)
	}
	known := map[uint16]bool{}
	for _, s := range cipherSuites {
		known[s.id] = true
	}
	f.Fuzz(func(t *testing.T, list string) {
		ids, err := Parse(list)
		if err != nil {
			if ids != nil {
				t.Fatalf("%q: suites %v with error %v", list, ids, err)
			}
			return
		}
		if len(ids) == 0 {
			t.Fatalf("%q: no suites and no error", list)
		}
		seen := map[uint16]bool{}
		for _, id := range ids {
			if !known[id] || seen[id] {
				t.Fatalf("%q: suite %#x unknown or repeated in %v", list, id, ids)
			}
			seen[id] = true
		}
	})
}
