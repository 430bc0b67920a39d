package redismutex

import (
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"go.uber.org/goleak"

	"github.com/dogpile-go/dogpile/internal/testservers"
	"github.com/dogpile-go/dogpile/lockmutex/internal/mutextest"
)

func TestMain(m *testing.M) {
	// In the child process of the suite's killed-holder test: hold a lock.
	// The client stays open until the process is killed.
	mutextest.RunHolderIfChild(func(key string, lockTimeout time.Duration) (mutextest.Mutex, error) {
		addr, err := testservers.RedisAddr()
		if err != nil {
			return nil, err
		}
		return New(redis.NewClient(&redis.Options{Addr: addr}), key, Options{LockTimeout: lockTimeout}), nil
	})
	goleak.VerifyTestMain(m)
}
