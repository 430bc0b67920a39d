package memcache_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"time"

	"github.com/dogpile-go/dogpile/backends/memcache"
	"github.com/dogpile-go/dogpile/region"
)

// A region on two memcached servers: values live 10 minutes for the region
// and an hour on the servers, and the dogpile lock is shared by every
// process using the servers. (Needs running servers, so it is not run as a
// test.)
func Example() {
	ctx := context.Background()
	r := region.New("tokens")
	err := r.Configure("memcached",
		region.WithExpirationTime(10*time.Minute),
		region.WithArguments(region.Arguments{
			"url":                   "127.0.0.1:11211,127.0.0.1:11212",
			"memcached_expire_time": 3600,
			"lock_timeout":          30,
			"socket_timeout":        "500ms",
		}))
	if err != nil {
		log.Fatal(err)
	}
	defer r.Close()

	token, err := region.GetOrCreateAs(ctx, r, "token:alice", func(ctx context.Context) (string, error) {
		return "t-0123456789", nil // an expensive call, made by one process at a time
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(token)
}

// The same configuration as a dogpile-style flat configuration map, as read
// from a file.
func Example_configureFromConfig() {
	r := region.New("tokens")
	err := r.ConfigureFromConfig(map[string]any{
		"cache.backend":                         "memcached",
		"cache.expiration_time":                 "600",
		"cache.arguments.url":                   "127.0.0.1:11211,127.0.0.1:11212",
		"cache.arguments.memcached_expire_time": "3600",
		"cache.arguments.distributed_lock":      "true",
	}, "cache.")
	if err != nil {
		log.Fatal(err)
	}
	defer r.Close()
}

// Keystone's memcached KVS backend: a token store whose revocation list
// never expires on the server while tokens do.
func Example_keystoneKVS() {
	r := region.New("token")
	err := r.Configure("openstack.kvs.Memcached", region.WithArguments(region.Arguments{
		"url":                   "127.0.0.1:11211",
		"memcached_backend":     "memcached",
		"memcached_expire_time": 86400,
		"no_expiry_keys":        "revocation-list",
		"lock_timeout":          6,
		"max_lock_attempts":     15,
	}))
	if err != nil {
		log.Fatal(err)
	}
	defer r.Close()
}

// Memcached keys are at most 250 bytes of printable ASCII without spaces.
// The memcached backend suggests the SHA-1 key mangler, which makes any
// key legal.
func ExampleCheckKey() {
	fmt.Println(memcache.CheckKey("user:42"))
	fmt.Println(errors.Is(memcache.CheckKey("user 42"), memcache.ErrInvalidKey))
	fmt.Println(memcache.CheckKey(region.SHA1MangleKey("user 42, or any key at all")))
	// Output:
	// <nil>
	// true
	// <nil>
}

func ExampleOptionsFromArguments() {
	opts, err := memcache.OptionsFromArguments(region.Arguments{
		"url":                   "127.0.0.1:11211, 127.0.0.1:11212",
		"memcached_expire_time": "1h",
		"distributed_lock":      "false",
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(opts.Servers, opts.ExpireTime, opts.DistributedLock)
	// Output: [127.0.0.1:11211 127.0.0.1:11212] 1h0m0s false
}

// A plugin adds a memcached driver for openstack.kvs.Memcached by name,
// from its init function. This one wraps the package's own Backend.
func ExampleRegisterDriver() {
	memcache.RegisterDriver("my_memcached", func(args region.Arguments) (memcache.Driver, error) {
		opts, err := memcache.OptionsFromArguments(args)
		if err != nil {
			return nil, err
		}
		opts.SocketTimeout = 200 * time.Millisecond
		return memcache.New(opts)
	})
	// Then: "memcached_backend": "my_memcached" in the KVS arguments.
}

// Consistent hashing: with server_selector "ketama", adding or removing
// one of N servers moves about 1/N of the keys to another server instead
// of most of them. Every process must use the same selector and the same
// server addresses. (Needs running servers, so it is not run as a test.)
func Example_consistentHashing() {
	r := region.New("tokens")
	err := r.Configure("memcached",
		region.WithExpirationTime(10*time.Minute),
		region.WithArguments(region.Arguments{
			"url":             "10.0.0.1:11211,10.0.0.2:11211,10.0.0.3:11211",
			"server_selector": "ketama", // default "modulo": gomemcache's CRC-32 mod N
		}))
	if err != nil {
		log.Fatal(err)
	}
	defer r.Close()
}

// The ketama selector on its own: which server holds a key, and how few
// keys move when a fourth server joins three. Selectors only resolve the
// addresses, they do not connect.
func ExampleNewKetamaSelector() {
	three, err := memcache.NewKetamaSelector("10.0.0.1:11211", "10.0.0.2:11211", "10.0.0.3:11211")
	if err != nil {
		log.Fatal(err)
	}
	four, err := memcache.NewKetamaSelector("10.0.0.1:11211", "10.0.0.2:11211", "10.0.0.3:11211", "10.0.0.4:11211")
	if err != nil {
		log.Fatal(err)
	}
	for _, key := range []string{"user:1", "user:2", "user:3"} {
		a, _ := three.PickServer(region.SHA1MangleKey(key))
		fmt.Println(key, "->", a)
	}
	moved := 0
	for i := range 10000 {
		key := region.SHA1MangleKey(fmt.Sprint("user:", i))
		a, _ := three.PickServer(key)
		b, _ := four.PickServer(key)
		if a.String() != b.String() {
			moved++
		}
	}
	fmt.Printf("3 -> 4 servers: %.0f%% of the keys move\n", float64(moved)/100)
	// Output:
	// user:1 -> 10.0.0.3:11211
	// user:2 -> 10.0.0.1:11211
	// user:3 -> 10.0.0.3:11211
	// 3 -> 4 servers: 22% of the keys move
}

// A program that changes its server list at run time gives the backend a
// KetamaSelector of its own and calls SetServers on it; connections to the
// new servers are opened as needed. (Needs running servers, so it is not
// run as a test.)
func ExampleKetamaSelector_SetServers() {
	sel, err := memcache.NewKetamaSelector("10.0.0.1:11211", "10.0.0.2:11211")
	if err != nil {
		log.Fatal(err)
	}
	b, err := memcache.New(memcache.Options{Selector: sel, DistributedLock: true})
	if err != nil {
		log.Fatal(err)
	}
	defer b.Close()
	region.RegisterBackend("memcached.dynamic", func(region.Arguments) (region.Backend, error) {
		return region.NewSerializedBackend(b, nil), nil
	})
	r := region.New("tokens")
	if err := r.Configure("memcached.dynamic", region.WithExpirationTime(10*time.Minute)); err != nil {
		log.Fatal(err)
	}
	defer r.Close()
	// Later, when a server joins: about a third of the keys move to it.
	if err := sel.SetServers("10.0.0.1:11211", "10.0.0.2:11211", "10.0.0.3:11211"); err != nil {
		log.Fatal(err)
	}
}

// Lock leases: a creator that may run longer than lock_timeout keeps its
// memcached lock while it works. The region extends the lock item (gets and
// cas with the holder's token) every third of lock_timeout, so no second
// creator starts in another process meanwhile, while a creator that crashes
// still blocks the key for at most lock_timeout. (Needs running servers, so
// it is not run as a test.)
func Example_lockLeases() {
	ctx := context.Background()
	r := region.New("reports", region.WithLockLeases())
	err := r.Configure("memcached",
		region.WithExpirationTime(time.Hour),
		region.WithArguments(region.Arguments{
			"url":              "127.0.0.1:11211",
			"distributed_lock": true, // the default
			"lock_timeout":     "10s",
		}))
	if err != nil {
		log.Fatal(err)
	}
	defer r.Close()
	report, err := region.GetOrCreateAs(ctx, r, "report:2024", func(ctx context.Context) (string, error) {
		time.Sleep(time.Minute) // far longer than lock_timeout: the lease keeps the lock
		return "done", nil
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(report)
}

// Shared invalidation: the invalidation record lives in memcached, so
// Invalidate in one process reaches every process using the servers within
// CacheFor. Leave memcached_expire_time at 0 (or at least the expiration
// time, and the same in every process): the record is written with it like
// any value. (Needs running servers, so it is not run as a test.)
func Example_sharedInvalidation() {
	ctx := context.Background()
	r := region.New("catalog")
	inv := region.NewSharedInvalidation(r, region.SharedInvalidationOptions{CacheFor: 500 * time.Millisecond})
	err := r.Configure("memcached",
		region.WithExpirationTime(10*time.Minute),
		region.WithInvalidator(inv),
		region.WithArguments(region.Arguments{"url": "127.0.0.1:11211,127.0.0.1:11212"}))
	if err != nil {
		log.Fatal(err)
	}
	defer r.Close()

	// In any process: every process's values created before now read as
	// absent within about half a second.
	r.Invalidate(true)

	v, err := r.GetOrCreate(ctx, "item:7", func(ctx context.Context) (any, error) { return "fresh", nil })
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(v)
}
