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
