package oslocache_test

import (
	"context"
	"fmt"
	"log"

	_ "github.com/dogpile-go/dogpile/backends/memory" // dogpile.cache.memory, dogpile.cache.null, oslo_cache.dict
	"github.com/dogpile-go/dogpile/oslocache"
	"github.com/dogpile-go/dogpile/region"
)

// Read a keystone.conf and look at the region its [cache] section makes.
func ExampleLoad() {
	conf, err := oslocache.Load("testdata/keystone.conf")
	if err != nil {
		log.Fatal(err)
	}
	s, err := conf.RegionSettings()
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("backend:", s.Backend)
	fmt.Println("expiration:", s.ExpirationTime)
	fmt.Println("arguments:", s.Arguments)
	for _, n := range s.Notes {
		fmt.Println("note:", n)
	}
	// Output:
	// backend: dogpile.cache.memory
	// expiration: 10m0s
	// arguments: map[]
	// note: testdata/keystone.conf:13: [cache] memcache_servers: no effect with the dogpile.cache.memory backend (the memcached backends' url, unless backend_argument sets url; inet6:[host]:port accepted)
}

// Configure a region as oslo.cache's configure_cache_region does, and cache
// a function as get_memoization_decorator does.
func ExampleConfig_ConfigureCacheRegion() {
	conf, err := oslocache.Load("testdata/keystone.conf")
	if err != nil {
		log.Fatal(err)
	}
	r := oslocache.CreateRegion("keystone")
	if err := conf.ConfigureCacheRegion(r); err != nil {
		log.Fatal(err)
	}
	defer r.Close()

	calls := 0
	getProject := region.CacheOnArguments(r, "keystone.resource.core:get_project",
		func(_ context.Context, id string) (string, error) {
			calls++
			return "project " + id, nil
		}, conf.Memoize("resource")...)
	ctx := context.Background()
	for range 3 {
		p, err := getProject.Call(ctx, "p1")
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(p)
	}
	fmt.Println("calls:", calls)
	// Output:
	// project p1
	// project p1
	// project p1
	// calls: 1
}

// [catalog] caching = false: a memoized function is the plain function.
// [token] cache_time = 3600: its values live an hour instead of the region's
// ten minutes.
func ExampleConfig_Memoize() {
	conf, err := oslocache.Load("testdata/keystone.conf")
	if err != nil {
		log.Fatal(err)
	}
	for _, group := range []string{"catalog", "token", "revoke", "identity"} {
		d, set := conf.CacheTime(group)
		fmt.Printf("[%s] cached: %v, cache_time set: %v %v\n", group, conf.CachingEnabled(group), set, d)
	}
	// Output:
	// [catalog] cached: false, cache_time set: false 0s
	// [token] cached: true, cache_time set: true 1h0m0s
	// [revoke] cached: true, cache_time set: true 2m0s
	// [identity] cached: true, cache_time set: false 0s
}
