package redis_test

import (
	"strings"
	"testing"

	"github.com/dogpile-go/dogpile/internal/testservers"
	"github.com/dogpile-go/dogpile/oslocache"
	"github.com/dogpile-go/dogpile/region"
)

// A keystone.conf [cache] section naming a Redis backend configures a
// working region (oslocache passes these backends the arguments oslo.cache
// passes dogpile.cache).
func TestOsloCacheSections(t *testing.T) {
	set := testservers.RedisSentinel(t)
	for _, tc := range []struct{ name, section string }{
		{"redis", "backend = dogpile.cache.redis\nredis_server = " + testservers.Redis(t) + "\nredis_db = 0\nbackend_expiration_time = 3600\nexpiration_time = 600"},
		{"redis url", "backend = dogpile.cache.redis\nbackend_argument = url:redis://" + testservers.Redis(t) + "/0\nbackend_argument = distributed_lock:true"},
		{"sentinel", "backend = dogpile.cache.redis_sentinel\nredis_sentinels = " + strings.Join(set.Sentinels, ",") + "\nredis_sentinel_service_name = " + set.Service},
		{"cluster", "backend = dogpile.cache.redis_cluster\nbackend_argument = url:redis://" + testservers.RedisCluster(t)[1]},
	} {
		t.Run(tc.name, func(t *testing.T) {
			conf, err := oslocache.Parse("keystone.conf", []byte("[cache]\nenabled = true\n"+tc.section+"\n"))
			if err != nil {
				t.Fatal(err)
			}
			r := region.New(t.Name())
			if err := conf.ConfigureCacheRegion(r); err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			ctx := testCtx(t)
			key := testservers.UniqueKey(t, "k")
			if err := r.Set(ctx, key, map[string]any{"a": 1}); err != nil {
				t.Fatal(err)
			}
			v, ok, err := r.Get(ctx, key)
			if err != nil || !ok || v.(map[string]any)["a"] != int64(1) {
				t.Fatalf("Get = %#v, %v, %v", v, ok, err)
			}
		})
	}
}
