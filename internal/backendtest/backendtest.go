// Package backendtest holds region.Backend fixtures and waiting helpers
// for this module's tests.
package backendtest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/dogpile-go/dogpile/region"
)

// ErrDown is the error every call of Failing returns.
var ErrDown = errors.New("backend down")

// Failing is a backend whose every call fails with ErrDown. Its GetMutex
// returns nil, so a region uses its in-process mutex.
type Failing struct{}

var _ region.Backend = Failing{}

func (Failing) Get(context.Context, string) (region.CachedValue, bool, error) {
	return region.CachedValue{}, false, ErrDown
}
func (Failing) GetMulti(context.Context, []string) (map[string]region.CachedValue, error) {
	return nil, ErrDown
}
func (Failing) Set(context.Context, string, region.CachedValue) error         { return ErrDown }
func (Failing) SetMulti(context.Context, map[string]region.CachedValue) error { return ErrDown }
func (Failing) Delete(context.Context, string) error                          { return ErrDown }
func (Failing) DeleteMulti(context.Context, []string) error                   { return ErrDown }
func (Failing) GetMutex(string) region.Mutex                                  { return nil }

// RegisterFailing registers Failing as the backend name, for tests that
// configure a region by backend name. Like region.RegisterBackend it
// panics when name is taken, so call it once (from an init function).
func RegisterFailing(name string) {
	region.RegisterBackend(name, func(region.Arguments) (region.Backend, error) {
		return Failing{}, nil
	})
}

// AwaitJoined waits (up to 5s) until seen reports that a caller has made the
// read that comes just before it joins another caller's creation, then
// gives it a moment more to join. It fails the test when that read never
// comes.
func AwaitJoined(t testing.TB, seen func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); !seen(); {
		if time.Now().After(deadline) {
			t.Fatal("the second caller never read the key")
		}
		time.Sleep(time.Millisecond)
	}
	time.Sleep(50 * time.Millisecond)
}

// RefusesUnknownArguments checks that each named backend refuses an
// argument it does not know (a misspelt lock_timeout), naming it, the
// backend and the argument it probably meant, rather than ignoring it.
func RefusesUnknownArguments(t *testing.T, names ...string) {
	t.Helper()
	for _, name := range names {
		_, err := region.NewBackend(name, region.Arguments{"lokc_timeout": 5})
		var ue *region.UnknownArgumentError
		if !errors.Is(err, region.ErrBadArgument) || !errors.As(err, &ue) {
			t.Errorf("%s: err = %v, want an *UnknownArgumentError", name, err)
			continue
		}
		if ue.Backend != name || len(ue.Names) != 1 || ue.Names[0] != "lokc_timeout" {
			t.Errorf("%s: error names %+v", name, ue)
		}
		if ue.Suggestions["lokc_timeout"] != "lock_timeout" {
			t.Errorf("%s: no \"did you mean lock_timeout\" in %v", name, err)
		}
	}
}
