package memcache_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"testing"

	"github.com/dogpile-go/dogpile/backends/memcache"
	"github.com/dogpile-go/dogpile/internal/pyrun"
	"github.com/dogpile-go/dogpile/internal/testservers"
	"github.com/dogpile-go/dogpile/region"
)

// hashclientCalls is run by Python: dogpile.cache.pymemcache with the
// request's arguments reads key calls times in a row; each read is
// "error" (the connection failed), "skipped" (the key's node is failing:
// pymemcache answers a miss without a call) or "moved" (the key's node
// left the hash; a live server answered).
const hashclientCalls = `
import json, sys
from dogpile.cache import make_region
req = json.load(sys.stdin)
b = make_region().configure("dogpile.cache.pymemcache", arguments=req["args"]).backend
out = []
for _ in range(req["calls"]):
    try:
        b.get(req["key"])
    except OSError:
        out.append("error")
        continue
    out.append("moved" if b.client.hasher.get_node(req["key"]) == req["live"] else "skipped")
print(json.dumps(out))
`

// TestPymemcacheHashclientSettingsOfZero: hashclient_retry_attempts,
// hashclient_retry_timeout and hashclient_dead_timeout of 0 mean 0, as in
// pymemcache, not the defaults: with one server refusing connections, the
// reads of one of its keys go as Python's do (Go's "skipped" is
// ErrServerDown where pymemcache answers a miss).
func TestPymemcacheHashclientSettingsOfZero(t *testing.T) {
	py := pyrun.Require(t, pyModules...)
	live, closed := testservers.Memcached(t)[0], testservers.ClosedAddr(t)
	const calls = 3
	cases := []struct {
		name string
		args region.Arguments
		want []string
	}{
		// The defaults (with a long pause): the failing node is skipped.
		{"defaults", region.Arguments{"hashclient_retry_timeout": 60}, []string{"error", "skipped", "skipped"}},
		// No retries: the node leaves the hash at its first failure.
		{"retry_attempts_0", region.Arguments{"hashclient_retry_attempts": 0}, []string{"error", "moved", "moved"}},
		// No pause: each read retries the node (until the retries run out).
		{"retry_timeout_0", region.Arguments{"hashclient_retry_timeout": 0}, []string{"error", "error", "error"}},
		// Out of the hash for no time: every read tries the node again.
		{"dead_timeout_0", region.Arguments{"hashclient_retry_attempts": 0, "hashclient_dead_timeout": 0}, []string{"error", "error", "error"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			args := c.args.Clone()
			args["url"] = []string{live, closed}
			o, err := memcache.DogpilePymemcacheOptions(args)
			if err != nil {
				t.Fatal(err)
			}
			b, err := memcache.NewPython(o)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = b.Close() })
			var key string
			for i := 0; key == ""; i++ {
				if k := fmt.Sprintf("%s%d", testservers.UniqueKey(t, ""), i); mustServerFor(t, b, k) == closed {
					key = k
				}
			}
			ctx := ctxT(t)
			var got []string
			for range calls {
				_, _, err := b.Get(ctx, key)
				switch {
				case errors.Is(err, memcache.ErrServerDown):
					got = append(got, "skipped")
					// Only the pause after a failure skips here.
					if de := (*memcache.DownError)(nil); !errors.As(err, &de) || de.Setting != "hashclient_retry_timeout" {
						t.Errorf("skipped: %v; want a DownError naming hashclient_retry_timeout", err)
					}
				case err != nil:
					got = append(got, "error")
				case mustServerFor(t, b, key) == live:
					got = append(got, "moved")
				default:
					t.Fatalf("a read of %q succeeded on %s", key, closed)
				}
			}
			if !reflect.DeepEqual(got, c.want) {
				t.Errorf("Go: reads %v, want %v", got, c.want)
			}
			var pyGot []string
			pyCallSource(t, py, hashclientCalls, map[string]any{"args": args, "key": key, "live": live, "calls": calls}, &pyGot)
			if !reflect.DeepEqual(pyGot, c.want) {
				t.Errorf("Python: reads %v, want %v", pyGot, c.want)
			}
		})
	}
}

func mustServerFor(t *testing.T, b *memcache.PythonBackend, key string) string {
	t.Helper()
	a, err := b.ServerFor(key)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// pyCallSource runs a Python program with req as JSON on its standard
// input and decodes its answer into out.
func pyCallSource(t testing.TB, py *pyrun.Python, source string, req any, out any) {
	t.Helper()
	in, err := json.Marshal(req)
	if err != nil {
		t.Fatal(err)
	}
	raw := py.Run(t, pyrun.Script{Source: source, Stdin: in})
	if err := json.Unmarshal(raw, out); err != nil {
		t.Fatalf("python answer %q: %v", raw, err)
	}
}
