package redis_test

import (
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"testing"

	goredis "github.com/redis/go-redis/v9"

	"github.com/dogpile-go/dogpile/internal/pyrun"
	"github.com/dogpile-go/dogpile/internal/testservers"
	"github.com/dogpile-go/dogpile/region"
)

// pyDatabaseScript configures a dogpile.cache.redis region with the
// arguments in argv[1] (JSON), writes the key argv[2] with it and prints
// the database the key landed in (the first that holds it).
const pyDatabaseScript = `
import json, sys
import redis
from dogpile.cache import make_region
args = json.loads(sys.argv[1])
key = sys.argv[2]
host, port = sys.argv[3], int(sys.argv[4])
make_region().configure("dogpile.cache.redis", arguments=args).set(key, "v")
for db in range(16):
    if redis.StrictRedis(host=host, port=port, db=db).exists(key):
        print(db)
        break
else:
    print(-1)
`

// dogpile.cache.redis picks the database (and credentials) by its own rules:
// with url it drops the top-level db, username and password; without url
// its db and password replace those of connection_kwargs. Go uses the
// database Python uses, or refuses the argument Python drops — never a
// different database.
func TestDatabaseAsPython(t *testing.T) {
	py := requirePython(t)
	addr := testservers.Redis(t)
	host, port, _ := strings.Cut(addr, ":")
	portNumber, _ := strconv.Atoi(port)
	hostPort := region.Arguments{"host": host, "port": portNumber}
	url := "redis://" + addr
	cases := []struct {
		name    string
		args    map[string]any
		refused string // the argument Go refuses, "" when Go accepts
	}{
		{"url without db", map[string]any{"url": url}, ""},
		{"url with db", map[string]any{"url": url + "/2"}, ""},
		{"url with db in the query", map[string]any{"url": url + "?db=7"}, ""},
		{"url and db", map[string]any{"url": url, "db": 3}, "db"},
		{"url with db and db", map[string]any{"url": url + "/2", "db": 2}, "db"},
		{"url and connection_kwargs db", map[string]any{"url": url, "connection_kwargs": map[string]any{"db": 6}}, ""},
		{"host and db", with(hostPort, map[string]any{"db": 4}), ""},
		{"host and connection_kwargs db", with(hostPort, map[string]any{"connection_kwargs": map[string]any{"db": 5}}), "connection_kwargs.db"},
		{"host, db and connection_kwargs db", with(hostPort, map[string]any{"db": 1, "connection_kwargs": map[string]any{"db": 5}}), "connection_kwargs.db"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx := testCtx(t)
			pyKey := testservers.UniqueKey(t, "py")
			args, err := json.Marshal(tc.args)
			if err != nil {
				t.Fatal(err)
			}
			out := py.Run(t, pyrun.Script{Source: pyDatabaseScript, Args: []string{string(args), pyKey, host, port}})
			pyDB, err := strconv.Atoi(strings.TrimSpace(string(out)))
			if err != nil || pyDB < 0 {
				t.Fatalf("Python printed %q: its key is in no database", out)
			}
			t.Cleanup(func() { dropKey(t, addr, pyDB, pyKey) })

			r := region.New(t.Name())
			err = r.Configure("dogpile.cache.redis", region.WithArguments(region.Arguments(tc.args)))
			if tc.refused != "" {
				if err == nil || !errors.Is(err, region.ErrBadArgument) || !strings.Contains(err.Error(), `"`+tc.refused+`"`) {
					t.Fatalf("Configure = %v; want %q refused (Python dropped it and used database %d)", err, tc.refused, pyDB)
				}
				return
			}
			if err != nil {
				t.Fatalf("Configure: %v", err)
			}
			defer r.Close()
			goKey := testservers.UniqueKey(t, "go")
			if err := r.Set(ctx, goKey, "v"); err != nil {
				t.Fatal(err)
			}
			c := goredis.NewClient(&goredis.Options{Addr: addr, DB: pyDB})
			defer c.Close()
			defer c.Del(ctx, goKey)
			if n, err := c.Exists(ctx, goKey).Result(); err != nil || n != 1 {
				t.Errorf("Go did not write to database %d, where Python writes (EXISTS = %d, %v)", pyDB, n, err)
			}
		})
	}
}

// dropKey deletes key from database db.
func dropKey(t testing.TB, addr string, db int, key string) {
	c := goredis.NewClient(&goredis.Options{Addr: addr, DB: db})
	defer c.Close()
	_ = c.Del(t.Context(), key).Err()
}
