package testenv_test

import (
	"testing"

	"github.com/dogpile-go/dogpile/internal/testenv"
)

// recorder records what SkipOrFail does to a test.
type recorder struct {
	testing.TB
	skipped, failed bool
}

func (r *recorder) Helper()               {}
func (r *recorder) Skip(...any)           { r.skipped = true }
func (r *recorder) Fatal(...any)          { r.failed = true }
func (r *recorder) Skipf(string, ...any)  { r.skipped = true }
func (r *recorder) Fatalf(string, ...any) { r.failed = true }

func TestSkipOrFail(t *testing.T) {
	for _, c := range []struct {
		ci              string
		skipped, failed bool
	}{{"", true, false}, {"false", true, false}, {"true", false, true}} {
		t.Setenv(testenv.EnvCI, c.ci)
		r := &recorder{TB: t}
		testenv.SkipOrFail(r, "memcached is missing")
		if r.skipped != c.skipped || r.failed != c.failed {
			t.Errorf("CI=%q: skipped %v, failed %v; want %v, %v", c.ci, r.skipped, r.failed, c.skipped, c.failed)
		}
	}
}
