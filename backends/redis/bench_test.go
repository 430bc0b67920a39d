package redis_test

import (
	"context"
	"fmt"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	_ "github.com/dogpile-go/dogpile/backends/gocache"
	"github.com/dogpile-go/dogpile/internal/benchratio"
	"github.com/dogpile-go/dogpile/internal/testservers"
	"github.com/dogpile-go/dogpile/region"
)

// smallDict is the value of the hit benchmarks: a small dict, as a
// service caches a record.
func smallDict() map[string]any {
	return map[string]any{"id": 42, "name": "Ada Lovelace", "email": "ada@example.org", "roles": []any{"admin", "dev"}, "active": true}
}

// benchString is the other value of the benchmarks: a 100-byte string,
// whose decoding costs little next to a round trip.
var benchString = strings.Repeat("v", 100)

// benchEnv holds what the Redis benchmarks compare, set up once.
type benchEnv struct {
	ctx context.Context

	cluster    *region.Region         // dogpile.cache.redis_cluster, pickle
	jsonRegion *region.Region         // the same with dogpile's JSON serializer
	slow       *region.Region         // the same through connections with added latency
	rawCluster *goredis.ClusterClient // go-redis as it comes
	slowRaw    *goredis.ClusterClient // go-redis through connections with added latency
	key        string                 // holds smallDict in cluster
	keys       []string               // 100 keys over the cluster's slots, smallDict
	skey       string                 // holds benchString in cluster
	skeys      []string               // 100 keys over the cluster's slots, benchString
	jsonKey    string                 // benchString in jsonRegion

	pickled *region.Region // dogpile.cache.redis on the single server
	native  *region.Region // gocache.redis on the same server (msgpack)
	pkey    string         // smallDict in pickled
	nkey    string         // smallDict in native
}

func newBenchEnv(tb testing.TB) *benchEnv {
	tb.Helper()
	e := &benchEnv{ctx: context.Background()}
	nodes := testservers.RedisCluster(tb)
	e.cluster = newRegion(tb, nil, "dogpile.cache.redis_cluster", region.Arguments{"url": "redis://" + nodes[0]})
	e.jsonRegion = newRegion(tb, jsonRegion, "dogpile.cache.redis_cluster", region.Arguments{"url": "redis://" + nodes[0]})
	e.rawCluster = goredis.NewClusterClient(&goredis.ClusterOptions{Addrs: nodes})
	tb.Cleanup(func() { _ = e.rawCluster.Close() })
	slowClient := goredis.NewClusterClient(&goredis.ClusterOptions{Addrs: nodes, Dialer: latencyDialer(addedLatency)})
	tb.Cleanup(func() { _ = slowClient.Close() })
	e.slowRaw = goredis.NewClusterClient(&goredis.ClusterOptions{Addrs: nodes, Dialer: latencyDialer(addedLatency)})
	tb.Cleanup(func() { _ = e.slowRaw.Close() })
	e.slow = newRegion(tb, nil, "dogpile.cache.redis_cluster", region.Arguments{"client": slowClient})
	prefix := testservers.UniqueKey(tb, "")
	e.key, e.skey = prefix+"hit", prefix+"shit"
	values := map[string]any{e.key: smallDict(), e.skey: benchString}
	for i := range 100 {
		k, sk := fmt.Sprintf("%sd%d", prefix, i), fmt.Sprintf("%ss%d", prefix, i)
		e.keys, e.skeys = append(e.keys, k), append(e.skeys, sk)
		values[k], values[sk] = smallDict(), benchString
	}
	if err := e.cluster.SetMulti(e.ctx, values); err != nil {
		tb.Fatal(err)
	}
	e.jsonKey = prefix + "json"
	if err := e.jsonRegion.Set(e.ctx, e.jsonKey, benchString); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		_ = e.cluster.DeleteMulti(context.Background(), append(append(e.keys, e.skeys...), e.key, e.skey, e.jsonKey))
	})

	e.pickled = newRegion(tb, nil, "dogpile.cache.redis", singleArgs(tb))
	e.native = newRegion(tb, nil, "gocache.redis", region.Arguments{"addr": testservers.Redis(tb)})
	e.pkey, e.nkey = prefix+"pickled", prefix+"native"
	if err := e.pickled.Set(e.ctx, e.pkey, smallDict()); err != nil {
		tb.Fatal(err)
	}
	if err := e.native.Set(e.ctx, e.nkey, smallDict()); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		_ = e.pickled.Delete(context.Background(), e.pkey)
		_ = e.native.Delete(context.Background(), e.nkey)
	})
	return e
}

// ops are the calls the benchmarks and the ratio test time.
func (e *benchEnv) ops(tb testing.TB) map[string]func() {
	must := func(ok bool, err error) {
		if err != nil || !ok {
			tb.Fatalf("miss or error: %v", err)
		}
	}
	ops := map[string]func(){}
	for _, kind := range []struct {
		name string
		key  string
		keys []string
	}{{"dict", e.key, e.keys}, {"string", e.skey, e.skeys}} {
		ops["cluster/go-redis.Get/"+kind.name] = func() {
			_, err := e.rawCluster.Get(e.ctx, kind.key).Bytes()
			must(true, err)
		}
		ops["cluster/region.Get/"+kind.name] = func() {
			_, ok, err := e.cluster.Get(e.ctx, kind.key)
			must(ok, err)
		}
		ops["cluster/region.GetMulti-100/"+kind.name] = func() {
			vals, err := e.cluster.GetMulti(e.ctx, kind.keys)
			must(vals[99] != region.NoValue, err)
		}
		ops["cluster/region.Get-x100/"+kind.name] = func() {
			for _, k := range kind.keys {
				_, ok, err := e.cluster.Get(e.ctx, k)
				must(ok, err)
			}
		}
		ops["cluster/go-redis.Get-x100/"+kind.name] = func() {
			for _, k := range kind.keys {
				_, err := e.rawCluster.Get(e.ctx, k).Bytes()
				must(true, err)
			}
		}
	}
	for name, op := range map[string]func(){
		"cluster/region-json.Get/string": func() {
			_, ok, err := e.jsonRegion.Get(e.ctx, e.jsonKey)
			must(ok, err)
		},
		"cluster/go-redis.Pipelined-GET-x100/string": func() {
			_, err := e.rawCluster.Pipelined(e.ctx, func(p goredis.Pipeliner) error {
				for _, k := range e.skeys {
					p.Get(e.ctx, k)
				}
				return nil
			})
			must(true, err)
		},
		"slow-cluster/go-redis.Get/dict": func() {
			_, err := e.slowRaw.Get(e.ctx, e.key).Bytes()
			must(true, err)
		},
		"slow-cluster/region.Get/dict": func() {
			_, ok, err := e.slow.Get(e.ctx, e.key)
			must(ok, err)
		},
		"slow-cluster/region.GetMulti-100/string": func() {
			vals, err := e.slow.GetMulti(e.ctx, e.skeys)
			must(vals[99] != region.NoValue, err)
		},
		"slow-cluster/region.Get-x100/string": func() {
			for _, k := range e.skeys {
				_, ok, err := e.slow.Get(e.ctx, k)
				must(ok, err)
			}
		},
		"redis/dogpile.cache.redis-pickle.Get": func() {
			_, ok, err := e.pickled.Get(e.ctx, e.pkey)
			must(ok, err)
		},
		"redis/gocache.redis-msgpack.Get": func() {
			_, ok, err := e.native.Get(e.ctx, e.nkey)
			must(ok, err)
		},
	} {
		ops[name] = op
	}
	return ops
}

// BenchmarkRedis times each call on its own: a hit on the cluster through
// a region and through go-redis's ClusterClient, GetMulti of 100 keys
// against 100 single gets, and a hit on a pickled value
// (dogpile.cache.redis) against the project's own msgpack value
// (gocache.redis) on the same server.
func BenchmarkRedis(b *testing.B) {
	e := newBenchEnv(b)
	ops := e.ops(b)
	for _, name := range []string{
		"cluster/go-redis.Get/string", "cluster/region.Get/string",
		"cluster/go-redis.Get/dict", "cluster/region.Get/dict",
		"cluster/region.GetMulti-100/string", "cluster/region.Get-x100/string",
		"cluster/region.GetMulti-100/dict", "cluster/region.Get-x100/dict",
		"redis/gocache.redis-msgpack.Get", "redis/dogpile.cache.redis-pickle.Get",
	} {
		op := ops[name]
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				op()
			}
		})
	}
}

// TestPerformanceRatios measures the ratios docs/PERFORMANCE.md quotes,
// each pair timed in alternating samples in the same run (see
// benchratio.SampleCosts). With DOGPILE_PERF_ASSERT=1 it fails when a
// target is missed.
func TestPerformanceRatios(t *testing.T) {
	benchratio.Require(t, "the Redis performance ratios")
	e := newBenchEnv(t)
	ops := e.ops(t)
	for _, c := range []struct {
		base, other string
		target      float64
		atLeast     bool // the target is a speed-up: base / other >= target
	}{
		{"cluster/go-redis.Get/string", "cluster/region.Get/string", 1.15, false},
		{"cluster/go-redis.Get/string", "cluster/region-json.Get/string", 1.15, false},
		{"cluster/go-redis.Get/dict", "cluster/region.Get/dict", 1.15, false},
		{"cluster/region.Get-x100/string", "cluster/region.GetMulti-100/string", 10, true},
		{"cluster/region.Get-x100/dict", "cluster/region.GetMulti-100/dict", 10, true},
		{"cluster/go-redis.Get-x100/string", "cluster/go-redis.Pipelined-GET-x100/string", 10, true},
		{"slow-cluster/go-redis.Get/dict", "slow-cluster/region.Get/dict", 1.15, false},
		{"slow-cluster/region.Get-x100/string", "slow-cluster/region.GetMulti-100/string", 10, true},
		{"redis/gocache.redis-msgpack.Get", "redis/dogpile.cache.redis-pickle.Get", 2, false},
	} {
		var p10, med []float64
		if strings.HasPrefix(c.base, "slow-") {
			// Calls of 1-100ms: a few of each, in turn.
			n := 7
			if !strings.Contains(c.base, "x100") {
				n = 200
			}
			p10, med = fewSamples([]func(){ops[c.base], ops[c.other]}, n)
		} else {
			p10, med = benchratio.SampleCosts([]func(){ops[c.base], ops[c.other]}, 40, 50*time.Millisecond)
		}
		ratio, ratioMed := p10[1]/p10[0], med[1]/med[0]
		what, met := "ratio", ratio <= c.target
		if c.atLeast {
			ratio, ratioMed = p10[0]/p10[1], med[0]/med[1]
			what, met = "speed-up", ratio >= c.target
		}
		t.Logf("%-38s %9.0f ns  %-38s %9.0f ns  %s %.2fx (median samples %.2fx)  target %s%.3gx  met=%v",
			c.base, p10[0], c.other, p10[1], what, ratio, ratioMed, map[bool]string{true: "≥ ", false: "≤ "}[c.atLeast], c.target, met)
		if !met && benchratio.Asserting() {
			t.Errorf("%s vs %s: %s %.2fx misses the target %.3gx", c.other, c.base, what, ratio, c.target)
		}
	}
}

// addedLatency is the delay latencyDialer adds to every request: about a
// round trip inside a data centre.
const addedLatency = 200 * time.Microsecond

// latencyDialer dials connections that wait d before every write, so that
// each request (a command, or a pipeline flushed at once) pays about d
// more, as across a network.
func latencyDialer(d time.Duration) func(ctx context.Context, network, addr string) (net.Conn, error) {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return slowConn{Conn: c, d: d}, nil
	}
}

type slowConn struct {
	net.Conn
	d time.Duration
}

func (c slowConn) Write(b []byte) (int, error) {
	time.Sleep(c.d)
	return c.Conn.Write(b)
}

// fewSamples times each of fns n times, in turn, and returns the fastest
// (in place of the 10th percentile) and the median ns/op of each: for
// calls too slow for benchratio.SampleCosts's calibration.
func fewSamples(fns []func(), n int) (fastest, med []float64) {
	samples := make([][]float64, len(fns))
	for range n {
		for i, f := range fns {
			start := time.Now()
			f()
			samples[i] = append(samples[i], float64(time.Since(start).Nanoseconds()))
		}
	}
	for _, s := range samples {
		slices.Sort(s)
		fastest, med = append(fastest, s[0]), append(med, s[len(s)/2])
	}
	return fastest, med
}
