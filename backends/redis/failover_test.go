package redis_test

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/dogpile-go/dogpile/internal/testservers"
	"github.com/dogpile-go/dogpile/region"
)

// EnvFailoverReport names a file the failover test appends its figures to
// (for docs/redis.md), when set.
const envFailoverReport = "DOGPILE_FAILOVER_REPORT"

// The Sentinel master is killed with SIGKILL in the middle of a run, on a
// Sentinel set of this test's own. The region keeps serving: while the
// backend fails, callers get their creators' values (the region fails
// open), no caller ever gets a wrong value, and once the Sentinels have
// promoted the replica, writes land on the new master. The test logs how
// long calls failed over to their creators.
func TestSentinelFailover(t *testing.T) {
	testFailover(t, "killed", func(set *testservers.PrivateSentinelSet) { set.MasterServer.Kill() })
}

// The same with a master that hangs (SIGSTOP) instead of dying: calls wait
// socket_timeout (2s here) before they fail over to their creators.
func TestSentinelFailoverHungMaster(t *testing.T) {
	testFailover(t, "hung", func(set *testservers.PrivateSentinelSet) { set.MasterServer.Pause() })
}

// How long the Sentinels may take to promote the replica (a failed
// election is retried after twice the failover timeout), and the client to
// write to it once they have.
const (
	sentinelFailoverLimit = 2 * time.Minute
	clientFailoverLimit   = 30 * time.Second
)

// socketTimeout is the region's socket_timeout; errorsStopWithin is how
// soon after the first write on the new master the backend errors stop (a
// call still on the old master times out, and a loaded machine is slow).
const (
	socketTimeout    = 2 * time.Second
	errorsStopWithin = socketTimeout + 3*time.Second
)

// currentMaster is what the Sentinels name as master, for messages.
func currentMaster(ctx context.Context, set *testservers.PrivateSentinelSet) string {
	m, err := set.CurrentMaster(ctx)
	if err != nil {
		return err.Error()
	}
	return m
}

func testFailover(t *testing.T, how string, fail func(*testservers.PrivateSentinelSet)) {
	if testing.Short() {
		t.Skip("stops a Redis master and waits for the failover")
	}
	set := testservers.StartRedisSentinel(t, "failover-test")
	ctx := testCtx(t)

	var reported atomic.Int64 // backend errors the region reported
	var errMu sync.Mutex
	var lastErrAt time.Time
	var sampleErr error
	r := region.New("failover", region.WithSerializer(region.JSONSerializer{}),
		region.WithErrorHandler(func(_ context.Context, _ string, err error) {
			reported.Add(1)
			errMu.Lock()
			defer errMu.Unlock()
			lastErrAt = time.Now()
			if sampleErr == nil {
				sampleErr = err
			}
		}))
	err := r.Configure("dogpile.cache.redis_sentinel", region.WithExpirationTime(time.Minute), region.WithArguments(region.Arguments{
		"sentinels":              strings.Join(set.Sentinels, ","),
		"service_name":           set.Service,
		"socket_timeout":         socketTimeout.Seconds(),
		"socket_connect_timeout": 1,
		"lock_timeout":           5,
		"lock_sleep":             0.02,
	}))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()

	want := func(key string) string { return "value of " + key }
	const keys, workers = 40, 4
	var calls, wrong, created, callErrs atomic.Int64
	var slowest atomic.Int64 // nanoseconds
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := w; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				key := fmt.Sprintf("k%d", i%keys)
				start := time.Now()
				v, err := r.GetOrCreate(ctx, key, func(context.Context) (any, error) {
					created.Add(1)
					return want(key), nil
				})
				if d := time.Since(start); d.Nanoseconds() > slowest.Load() {
					slowest.Store(d.Nanoseconds())
				}
				calls.Add(1)
				switch {
				case err != nil:
					callErrs.Add(1)
				case v != want(key):
					wrong.Add(1)
					t.Errorf("GetOrCreate(%s) = %v; want %q", key, v, want(key))
				}
				if i%50 == 0 {
					// Invalidate a key now and then, so that values are
					// written all through the run.
					_ = r.Delete(ctx, key)
				}
				time.Sleep(2 * time.Millisecond)
			}
		})
	}

	time.Sleep(2 * time.Second)
	if n := reported.Load(); n != 0 {
		t.Fatalf("%d backend errors before the failover: %v", n, sampleErr)
	}
	before := calls.Load()
	killedAt := time.Now()
	fail(set)
	t.Logf("%s the master %s after %d calls", how, set.Master, before)

	// The Sentinels' part: they promote the replica. Under load an
	// election can fail and is retried after twice the failover timeout,
	// so this may take a while.
	if err := set.WaitForFailover(set.Replica, sentinelFailoverLimit); err != nil {
		t.Fatalf("%v (the Sentinels name %q); the servers' logs:\n%s", err, currentMaster(ctx, set), set.Logs(40))
	}
	promotedAt := time.Now()
	t.Logf("the Sentinels promoted the replica %s %.1fs after the master's failure", set.Replica, promotedAt.Sub(killedAt).Seconds())

	// The client's part: a write lands on the new master soon after.
	probe := testservers.UniqueKey(t, "probe")
	var recoveredAt time.Time
	for deadline := promotedAt.Add(clientFailoverLimit); ; {
		err := r.Set(ctx, probe, "after")
		if err == nil {
			recoveredAt = time.Now()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no write succeeded within %v of the replica's promotion (first error %v, last %v); the Sentinels name %q as master; the servers' logs:\n%s",
				clientFailoverLimit, sampleErr, err, currentMaster(ctx, set), set.Logs(40))
		}
		time.Sleep(20 * time.Millisecond)
	}
	newMaster := set.Replica
	c := goredis.NewClient(&goredis.Options{Addr: newMaster})
	defer c.Close()
	if b, err := c.Get(ctx, probe).Bytes(); err != nil || !strings.HasSuffix(string(b), `|"after"`) {
		t.Fatalf("the write after the failover is not on the new master: %q, %v", b, err)
	}

	// Run on for a while after the recovery: the errors stop.
	time.Sleep(errorsStopWithin + 3*time.Second)
	errMu.Lock()
	lastErr := lastErrAt
	errMu.Unlock()
	close(stop)
	wg.Wait()

	degraded := lastErr.Sub(killedAt)
	if lastErr.IsZero() {
		degraded = 0
	}
	quiet := time.Since(lastErr)
	// A call that started on the old master just before the switch may
	// still time out (socket_timeout) after it.
	if !lastErr.IsZero() && lastErr.After(recoveredAt.Add(errorsStopWithin)) {
		t.Errorf("backend errors went on %v after the first write on the new master", lastErr.Sub(recoveredAt))
	}
	if callErrs.Load() != 0 {
		t.Errorf("%d calls returned an error; a region that fails open returns the creator's value", callErrs.Load())
	}
	if wrong.Load() != 0 {
		t.Errorf("%d calls returned a wrong value", wrong.Load())
	}
	report := fmt.Sprintf("%s master -> first write on the new master: %.1fs; calls degraded (backend errors reported) for %.1fs; "+
		"%d calls in all, %d backend errors reported, %d creator runs, 0 wrong values, slowest call %v; quiet for %v at the end",
		how, recoveredAt.Sub(killedAt).Seconds(), degraded.Seconds(), calls.Load(), reported.Load(), created.Load(),
		time.Duration(slowest.Load()).Round(time.Millisecond), quiet.Round(100*time.Millisecond))
	t.Log(report)
	t.Logf("first reported error: %v", sampleErr)
	if f := os.Getenv(envFailoverReport); f != "" {
		line := time.Now().UTC().Format(time.RFC3339) + " " + report + "\n"
		if fh, err := os.OpenFile(f, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644); err == nil {
			_, _ = fh.WriteString(line)
			_ = fh.Close()
		}
	}
}
