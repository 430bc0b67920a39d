package region_test

import (
	"bytes"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/dogpile-go/dogpile/region"
)

func FuzzParseEnvelope(f *testing.F) {
	f.Add([]byte("1;1732680000123456789|\xa5hello"))
	f.Add([]byte("1;0|"))
	f.Add([]byte("|"))
	f.Add([]byte("99999999999999999999;1|x"))
	f.Add([]byte("1;9223372036854775807|x"))
	f.Fuzz(func(t *testing.T, data []byte) {
		md, payload, err := region.ParseEnvelope(data)
		if err != nil {
			if !errors.Is(err, region.ErrCorruptValue) {
				t.Fatalf("error %v does not wrap ErrCorruptValue", err)
			}
			return
		}
		// A parsed envelope re-encodes to the same metadata and payload.
		again := region.AppendEnvelope(nil, md, payload)
		md2, payload2, err := region.ParseEnvelope(again)
		if err != nil || md2.Version != md.Version || !md2.CreatedAt.Equal(md.CreatedAt) || !bytes.Equal(payload, payload2) {
			t.Fatalf("round trip of %q: %+v %q %v", data, md2, payload2, err)
		}
	})
}

func FuzzSerializedPayload(f *testing.F) {
	f.Add([]byte("\xa5hello"))
	f.Add([]byte("\xc1"))
	f.Add([]byte("\x81\xa1a\x01"))
	f.Fuzz(func(t *testing.T, payload []byte) {
		s := region.MsgpackSerializer{}
		// Whatever decodes must pass validation (never reported corrupt),
		// and neither may panic.
		var v any
		if err := s.Unmarshal(payload, &v); err == nil {
			if verr := s.Validate(payload); verr != nil {
				t.Fatalf("payload %q decodes to %v but fails validation: %v", payload, v, verr)
			}
		}
	})
}

func FuzzArguments(f *testing.F) {
	for _, s := range []string{"600", "1.5", "true", "None", "a,b", "10m", "-1", "1e400", "NaN", " 7 ", "soon", "2562048h", "1h30m.5s", "+.5us"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		coerced := region.CoerceString(s)
		for _, v := range []any{s, coerced} {
			a := region.Arguments{"x": v}
			_, _ = a.String("x", "")
			_, _ = a.Int("x", 0)
			_, _ = a.Float("x", 0)
			_, _ = a.Bool("x", false)
			_, _ = a.Strings("x", nil)
			d, err := a.Duration("x", 0)
			if err == nil && d < 0 {
				t.Fatalf("Duration(%q) = %v; negative durations must be rejected", s, d)
			}
			if err != nil && !errors.Is(err, region.ErrBadArgument) {
				t.Fatalf("Duration(%q) error %v is not ErrBadArgument", s, err)
			}
		}
		// A Go duration reads as ParseDuration reads it.
		trimmed := strings.TrimSpace(s)
		if want, err := time.ParseDuration(trimmed); err == nil && want >= 0 {
			if _, ferr := strconv.ParseFloat(trimmed, 64); ferr != nil {
				if got, err := (region.Arguments{"x": s}).Duration("x", 0); err != nil || got != want {
					t.Fatalf("Duration(%q) = %v, %v; ParseDuration gives %v", s, got, err, want)
				}
			}
		}
		if n, ok := coerced.(int); ok {
			got, err := region.Arguments{"x": s}.Int("x", 0)
			if err != nil || got != n {
				t.Fatalf("Int(%q) = %v, %v; CoerceString gave %d", s, got, err, n)
			}
		}
	})
}

func TestArgumentGetters(t *testing.T) {
	a := region.Arguments{
		"secs": "600", "float": "1.5", "go": "250ms", "int": 3, "dur": 2 * time.Second,
		"yes": "on", "list": "a, b,,c", "anylist": []any{"x", "y"}, "bad": []int{1},
	}
	check := func(name string, got, want any, err error) {
		t.Helper()
		if err != nil || got != want {
			t.Errorf("%s = %v, %v; want %v", name, got, err, want)
		}
	}
	d, err := a.Duration("secs", 0)
	check("secs", d, 600*time.Second, err)
	d, err = a.Duration("float", 0)
	check("float", d, 1500*time.Millisecond, err)
	d, err = a.Duration("go", 0)
	check("go", d, 250*time.Millisecond, err)
	d, err = a.Duration("int", 0)
	check("int", d, 3*time.Second, err)
	d, err = a.Duration("dur", 0)
	check("dur", d, 2*time.Second, err)
	d, err = a.Duration("missing", time.Minute)
	check("default", d, time.Minute, err)
	b, err := a.Bool("yes", false)
	check("yes", b, true, err)
	l, err := a.Strings("list", nil)
	if err != nil || len(l) != 3 || l[2] != "c" {
		t.Errorf("list = %v, %v", l, err)
	}
	l, err = a.Strings("anylist", nil)
	if err != nil || len(l) != 2 {
		t.Errorf("anylist = %v, %v", l, err)
	}
	if _, err := a.Strings("bad", nil); !errors.Is(err, region.ErrBadArgument) {
		t.Errorf("bad list: %v", err)
	}
	if _, err := a.Int("float", 0); !errors.Is(err, region.ErrBadArgument) {
		t.Errorf("Int of 1.5: %v", err)
	}
	if c := a.Without("secs"); c.Has("secs") || !a.Has("secs") {
		t.Error("Without changed the original or kept the key")
	}
}

// TestDurationTooLarge: a duration beyond what time.Duration holds is
// reported as too large, naming the limit, not as "not a duration".
func TestDurationTooLarge(t *testing.T) {
	for _, c := range []struct {
		in       any
		tooLarge bool
		want     string
	}{
		{"99999999999", true, "too large: the longest duration is 9223372036 seconds"},
		{99999999999, true, "too large"},
		{"1e400", true, "too large"},
		{"9999999999h", true, "too large"},
		{"-99999999999", true, "too large"},
		{"9223372036", false, ""},
		{"soon", false, "cannot use \"soon\" as a duration (seconds or a Go duration"},
		{"10x", false, "as a duration (seconds"},
		{"-1", false, "a duration of zero or more"},
	} {
		_, err := region.Arguments{"memcached_expire_time": c.in}.Duration("memcached_expire_time", 0)
		if c.want == "" {
			if err != nil {
				t.Errorf("%v: %v", c.in, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), c.want) || !errors.Is(err, region.ErrBadArgument) {
			t.Errorf("%v: err = %v, want %q", c.in, err, c.want)
		}
		if c.tooLarge && strings.Contains(err.Error(), "Go duration such as") {
			t.Errorf("%v: %v: a value too large is reported as not a duration", c.in, err)
		}
	}
}

// TestDurationPartsAddUp: a Go duration's parts add up however large they
// are; only the total decides "too large".
func TestDurationPartsAddUp(t *testing.T) {
	for _, c := range []struct {
		in       string
		want     time.Duration
		tooLarge bool
	}{
		{"1h30m", 90 * time.Minute, false},
		{"+1.5s", 1500 * time.Millisecond, false},
		{"2562047h", 2562047 * time.Hour, false},
		{"2562048h", 0, true},
		{"2562047h47m17s", 0, true},
		{"99999999999999999999s", 0, true},
		{"1e3s", 0, false},
		{"1.2.3s", 0, false},
		{"5", 5 * time.Second, false},
		{"h", 0, false},
		{"-", 0, false},
	} {
		d, err := region.Arguments{"t": c.in}.Duration("t", 0)
		switch {
		case c.tooLarge:
			if err == nil || !strings.Contains(err.Error(), "too large") {
				t.Errorf("%q: %v, %v; want too large", c.in, d, err)
			}
		case c.want == 0:
			if err == nil || strings.Contains(err.Error(), "too large") {
				t.Errorf("%q: %v, %v; want not a duration", c.in, d, err)
			}
		default:
			if err != nil || d != c.want {
				t.Errorf("%q: %v, %v; want %v", c.in, d, err, c.want)
			}
		}
	}
}
