package redis_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	goredis "github.com/redis/go-redis/v9"

	_ "github.com/dogpile-go/dogpile/backends/redis"
	"github.com/dogpile-go/dogpile/region"
)

// A region that shares its values and its creation lock with Python
// services configured with the same backend name and arguments.
func Example() {
	ctx := context.Background()
	r := region.New("users")
	err := r.Configure("dogpile.cache.redis",
		region.WithExpirationTime(10*time.Minute),
		region.WithArguments(region.Arguments{
			"host": "127.0.0.1", "port": 6379, "db": 0,
			"redis_expiration_time": 3600, // Redis TTL (SETEX)
			"distributed_lock":      true, // redis-py's Lock on "_lock" + key
			"lock_timeout":          30,
			"socket_timeout":        1,
		}))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer r.Close()
	user, err := r.GetOrCreate(ctx, "user:42", func(context.Context) (any, error) {
		return map[string]any{"name": "Ada", "roles": []any{"admin"}}, nil
	})
	fmt.Println(user, err)
}

// The master that Redis Sentinels name, as from a configuration file:
// strings throughout.
func Example_sentinel() {
	r := region.New("sessions")
	err := r.ConfigureFromConfig(map[string]any{
		"cache.backend":                         "dogpile.cache.redis_sentinel",
		"cache.expiration_time":                 "600",
		"cache.arguments.sentinels":             "10.0.0.1:26379,10.0.0.2:26379,10.0.0.3:26379",
		"cache.arguments.service_name":          "mymaster",
		"cache.arguments.socket_timeout":        "1",
		"cache.arguments.redis_expiration_time": "3600",
	}, "cache.")
	fmt.Println(err)
}

// A Redis Cluster, reached through any of its nodes; dogpile's JSON
// serializer instead of pickle.
func Example_cluster() {
	r := region.New("catalog", region.WithSerializer(region.JSONSerializer{}))
	err := r.Configure("dogpile.cache.redis_cluster", region.WithArguments(region.Arguments{
		"url":              "redis://10.0.0.1:6379",
		"distributed_lock": true,
		"lock_timeout":     30,
	}))
	fmt.Println(err)
}

// A go-redis client the program built itself, in place of connection
// arguments.
func Example_client() {
	client := goredis.NewClusterClient(&goredis.ClusterOptions{Addrs: []string{"10.0.0.1:6379"}})
	defer client.Close()
	r := region.New("catalog")
	err := r.Configure("dogpile.cache.redis_cluster", region.WithArguments(region.Arguments{"client": client}))
	fmt.Println(err)
}

// Arguments dogpile.cache would silently ignore, or that only mean
// something in Python, are refused by name.
func Example_refusedArguments() {
	r := region.New("users")
	err := r.Configure("dogpile.cache.redis", region.WithArguments(region.Arguments{"hostt": "10.0.0.1"}))
	fmt.Println(errors.Is(err, region.ErrBadArgument), err)
	err = r.Configure("dogpile.cache.redis", region.WithArguments(region.Arguments{
		"connection_kwargs": map[string]any{"ssl_context": "<ssl.SSLContext>"},
	}))
	fmt.Println(err)
	// Output:
	// true region "users": backend "dogpile.cache.redis": unknown argument "hostt" (did you mean "host"?)
	// region "users": backend "dogpile.cache.redis": argument "connection_kwargs.ssl_context" refused: it is a Python ssl.SSLContext object; give ssl_certfile, ssl_keyfile, ssl_ca_certs instead
}
