// Command sidebyside is the Go half of the side-by-side example in
// docs/side-by-side.md: a Go service sharing a Python dogpile.cache
// service's memcached region. Run the Python half first:
//
//	python3 examples/sidebyside/python/app.py 127.0.0.1:11211 write
//	go run ./examples/sidebyside 127.0.0.1:11211
//	python3 examples/sidebyside/python/app.py 127.0.0.1:11211 read
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	_ "github.com/dogpile-go/dogpile/backends/memcache" // registers dogpile.cache.memcached
	"github.com/dogpile-go/dogpile/region"
)

// User is what svc.users.get_user returns in Python: a dict, read by
// field name.
type User struct {
	ID    int
	Name  string
	Roles []string
}

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: sidebyside host:port[,host:port...]")
		os.Exit(2)
	}
	if err := run(context.Background(), os.Args[1], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "sidebyside:", err)
		os.Exit(1)
	}
}

// run configures the region exactly as svc/users.py does, reads the user
// the Python service cached, and stores a value for Python to read.
func run(ctx context.Context, url string, out io.Writer) error {
	r := region.New("users")
	err := r.Configure("dogpile.cache.memcached",
		region.WithExpirationTime(600*time.Second),
		region.WithArguments(region.Arguments{"url": url, "distributed_lock": true, "lock_timeout": 30}))
	if err != nil {
		return err
	}
	defer r.Close()

	// Python's @region.cache_on_arguments() on get_user of module
	// svc.users: same name, same key ("svc.users:get_user|42").
	getUser := region.CacheOnArguments(r, "svc.users:get_user", func(ctx context.Context, id int) (User, error) {
		return User{}, errors.New("not in the cache: run the Python half first")
	})
	u, err := getUser.Call(ctx, 42)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "go read %s (key %q) with roles %v\n", u.Name, getUser.Key(42), u.Roles)

	// A value Python's region.get("greeting") reads as a str.
	if err := r.Set(ctx, "greeting", "hello from Go"); err != nil {
		return err
	}
	fmt.Fprintln(out, "go stored greeting")
	return nil
}
