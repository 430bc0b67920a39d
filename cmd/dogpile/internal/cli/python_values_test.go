package cli

import (
	"testing"

	"github.com/bradfitz/gomemcache/memcache"

	"github.com/dogpile-go/dogpile/internal/pyrun"
	"github.com/dogpile-go/dogpile/internal/testservers"
)

// TestGetShowsPythonValues (issue findings 3, with a mixed fleet): `get` on a
// dogpile.cache backend shows what a Python program stored with its client
// as JSON, with a note naming the format, rather than "not a dogpile
// value"; --raw still prints the stored bytes.
func TestGetShowsPythonValues(t *testing.T) {
	py := pyrun.Require(t, "memcache", "redis")
	servers := testservers.Memcached(t)
	redisAddr := testservers.Redis(t)
	text := testservers.UniqueKey(t, "pytext")
	number := testservers.UniqueKey(t, "pyint")
	pickled := testservers.UniqueKey(t, "pypickle")
	plain := testservers.UniqueKey(t, "plain")
	// python-memcached stores a str with flags 16, an int with flags 2 and
	// anything else pickled with flags 1; redis-py stores what it is given.
	script := `
import sys, pickle, memcache, redis
mc = memcache.Client([sys.argv[1]])
assert mc.set(sys.argv[3], "héllo wörld")
assert mc.set(sys.argv[4], 2**70)
host, port = sys.argv[2].rsplit(":", 1)
r = redis.Redis(host=host, port=int(port))
r.set(sys.argv[5], pickle.dumps({"name": "ada", "roles": ["admin"]}))
r.set(sys.argv[6], b"hello world")
`
	py.Run(t, pyrun.Script{Source: script, Args: []string{servers[0], redisAddr, text, number, pickled, plain}})
	defer func() {
		c := memcache.New(servers[0])
		_ = c.Delete(text)
		_ = c.Delete(number)
	}()
	mc := []string{"-b", "dogpile.cache.memcached", "-a", "url=" + servers[0]}
	rd := []string{"-b", "dogpile.cache.redis", "-a", "url=redis://" + redisAddr}
	runCases(t, []cliCase{
		{name: "python-memcached str", args: append(mc, "get", text), stdout: "\"héllo wörld\"\n",
			errHas: []string{"a python-memcached item (flags 16), not a value of this region"}},
		{name: "python-memcached int past int64", args: append(mc, "get", number), stdout: "1180591620717411303424\n",
			errHas: []string{"(flags 2)"}},
		{name: "python-memcached raw", args: append(mc, "get", "--raw", text), stdout: "héllo wörld", raw: true},
		{name: "redis-py pickle", args: append(rd, "get", pickled), stdout: `{"name":"ada","roles":["admin"]}` + "\n",
			errHas: []string{"a Python pickle value"}},
		{name: "redis-py bytes", args: append(rd, "get", plain), code: ExitForeign,
			errHas: []string{"is present, not a dogpile value (11 bytes); --raw prints it"}},
	})
}
