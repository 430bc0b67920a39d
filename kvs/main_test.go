package kvs

import (
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"os"
	"reflect"
	"testing"

	"go.uber.org/goleak"
)

// childEnv makes the test binary run a child role (see runChild) instead
// of the tests, for the cross-process tests.
const childEnv = "DOGPILE_KVS_TEST_CHILD"

func TestMain(m *testing.M) {
	// Keystone logs deprecation and lock warnings; keep test output quiet.
	slog.SetDefault(slog.New(slog.DiscardHandler))
	registerFixtures()
	// Keystone's unit.TestCase sets [kvs] backends to its fixtures before
	// any store is made; here they are region backend names.
	c := DefaultConfig()
	c.Backends = []string{
		fixtureBackend, forcedFixtureBackend, recordingMemory,
		lateBackend, missingBackend,
		"openstack.kvs.Memory", // already registered under that name: skipped
	}
	if err := SetConfig(c); err != nil {
		panic(err)
	}
	if role := os.Getenv(childEnv); role != "" {
		os.Exit(runChild(role))
	}
	goleak.VerifyTestMain(m)
}

func randomHex() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// newStore returns a fresh store (Keystone's _get_kvs_region with a random
// name).
func newStore(t testing.TB) *KeyValueStore {
	t.Helper()
	return GetKeyValueStore("kvstest-"+randomHex(), nil)
}

// withConfig changes the package settings for one (non-parallel) test.
func withConfig(t testing.TB, change func(*Config)) {
	t.Helper()
	old := CurrentConfig()
	c := old
	change(&c)
	if err := SetConfig(c); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := SetConfig(old); err != nil {
			t.Error(err)
		}
	})
}

// sameFunc reports whether two functions are the same top-level function
// (Python's "is" on function objects).
func sameFunc(a, b func(string) string) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return reflect.ValueOf(a).Pointer() == reflect.ValueOf(b).Pointer()
}
