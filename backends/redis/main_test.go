package redis_test

import (
	"context"
	"strings"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"
	"go.uber.org/goleak"

	"github.com/dogpile-go/dogpile/internal/testservers"
	"github.com/dogpile-go/dogpile/region"
)

func TestMain(m *testing.M) {
	// go-redis logs each Sentinel lookup; the tests make many.
	goredis.SetLogger(quietLogger{})
	goleak.VerifyTestMain(m)
}

// jsonRegion is the region option of a region with dogpile's JSON
// serializer on both sides.
var jsonRegion = []region.Option{region.WithSerializer(region.JSONSerializer{})}

// newRegion configures a region on backend, closed when the test ends.
func newRegion(t testing.TB, ropts []region.Option, backend string, args region.Arguments, opts ...region.ConfigOption) *region.Region {
	t.Helper()
	r := region.New(t.Name(), ropts...)
	if err := r.Configure(backend, append([]region.ConfigOption{region.WithArguments(args)}, opts...)...); err != nil {
		t.Fatalf("Configure(%q): %v", backend, err)
	}
	t.Cleanup(func() { _ = r.Close() })
	return r
}

func testCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// topology is one of the three Redis set-ups the backends serve.
type topology struct {
	name    string // backend name
	args    func(t testing.TB) region.Arguments
	cluster bool
}

func singleArgs(t testing.TB) region.Arguments {
	host, port, _ := strings.Cut(testservers.Redis(t), ":")
	return region.Arguments{"host": host, "port": port, "socket_timeout": 5}
}

func sentinelArgs(t testing.TB) region.Arguments {
	set := testservers.RedisSentinel(t)
	return region.Arguments{"sentinels": strings.Join(set.Sentinels, ","), "service_name": set.Service, "socket_timeout": 5}
}

func clusterArgs(t testing.TB) region.Arguments {
	return region.Arguments{"url": "redis://" + testservers.RedisCluster(t)[0], "socket_timeout": 5}
}

var topologies = []topology{
	{"dogpile.cache.redis", singleArgs, false},
	{"dogpile.cache.redis_sentinel", sentinelArgs, false},
	{"dogpile.cache.redis_cluster", clusterArgs, true},
}

// with returns a copy of args with more arguments.
func with(args region.Arguments, more region.Arguments) region.Arguments {
	c := args.Clone()
	for k, v := range more {
		c[k] = v
	}
	return c
}

type quietLogger struct{}

func (quietLogger) Printf(context.Context, string, ...any) {}
