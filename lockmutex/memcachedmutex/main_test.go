package memcachedmutex

import (
	"testing"
	"time"

	"github.com/bradfitz/gomemcache/memcache"
	"go.uber.org/goleak"

	"github.com/dogpile-go/dogpile/internal/testservers"
	"github.com/dogpile-go/dogpile/lockmutex/internal/mutextest"
)

func TestMain(m *testing.M) {
	// In the child process of the suite's killed-holder test: hold a lock.
	mutextest.RunHolderIfChild(func(key string, lockTimeout time.Duration) (mutextest.Mutex, error) {
		addrs, err := testservers.MemcachedAddrs()
		if err != nil {
			return nil, err
		}
		return New(memcache.New(addrs...), key, Options{LockTimeout: lockTimeout}), nil
	})
	goleak.VerifyTestMain(m)
}
