package memcache_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	gomemcache "github.com/bradfitz/gomemcache/memcache"

	"github.com/dogpile-go/dogpile/internal/testservers"
	"github.com/dogpile-go/dogpile/lockmutex"
	"github.com/dogpile-go/dogpile/region"
)

// Parameters of the lock lease test: the creator runs three times the lock
// timeout.
const (
	leaseLockTimeout = 2 * time.Second
	leaseCreator     = 3 * leaseLockTimeout
)

// leaseReport is what a lease child prints as JSON on stdout.
type leaseReport struct {
	Value   string `json:"value"`   // what its GetOrCreate returned
	Err     string `json:"err"`     // its error, if any
	Ran     bool   `json:"ran"`     // its creator ran
	Overlap bool   `json:"overlap"` // ... while another creator held the canary
	RanAt   int64  `json:"ran_at"`  // Unix nanoseconds its creator started
	Done    int64  `json:"done"`    // Unix nanoseconds GetOrCreate returned
}

// TestLockLeases runs a creator on memcached while a second OS process
// calls GetOrCreate on the same key. With region.WithLockLeases the
// creator's memcached lock is extended while it works (3 x lock_timeout
// after the second process asked), so the second process waits and then
// reads the first creator's value; its own creator never runs. Without
// leases (the contrast, so the test fails without the feature) the lock
// item expires under the running creator and the second process's creator
// starts while the first is still at work, which the add-based canary
// shows: the first creator works until it has. The first creator waits for
// the second process's signals (keys it writes) rather than for a time, so
// a slow start of the process on a loaded machine changes nothing.
func TestLockLeases(t *testing.T) {
	if testing.Short() {
		t.Skip("lease test skipped in -short mode")
	}
	s := testservers.Memcached(t)
	t.Run("WithLeases", func(t *testing.T) {
		t.Parallel()
		rep, lockGaps := runLeaseScenario(t, s, true)
		if rep.Err != "" {
			t.Fatalf("second process: GetOrCreate error: %s", rep.Err)
		}
		if rep.Ran {
			t.Errorf("a second creator ran in the other process (overlapping the first: %v)", rep.Overlap)
		}
		if rep.Value != "parent" {
			t.Errorf("second process got %q; want the first creator's value", rep.Value)
		}
		if lockGaps > 0 {
			t.Errorf("the lock item was missing (or another holder's) %d times while the creator ran", lockGaps)
		}
	})
	t.Run("WithoutLeases", func(t *testing.T) {
		t.Parallel()
		rep, lockGaps := runLeaseScenario(t, s, false)
		if rep.Err != "" {
			t.Fatalf("second process: GetOrCreate error: %s", rep.Err)
		}
		if !rep.Ran || !rep.Overlap {
			t.Errorf("without leases the second creator should start while the first runs: ran %v, overlap %v", rep.Ran, rep.Overlap)
		}
		if lockGaps == 0 {
			t.Error("without leases the lock item never went missing or changed holder")
		}
	})
}

// runLeaseScenario runs the parent's slow creator and the child process,
// and returns the child's report and how often the lock item was seen
// missing while the parent's creator ran.
func runLeaseScenario(t *testing.T, addrs []string, leases bool) (leaseReport, int) {
	p := testservers.UniqueKey(t, "")
	key, canary := p+"slow key", p+"canary"
	// The second process writes asking before its GetOrCreate, and ran
	// when its creator starts.
	asking, ran := p+"asking", p+"ran"
	ctx := ctxT(t)
	raw := rawClient(t, addrs...)
	lockItem := lockmutex.LockKeyPrefix + region.SHA1MangleKey(key)

	var leaseErrs atomic.Int64
	opts := []region.Option{region.WithErrorHandler(func(_ context.Context, k string, err error) {
		if strings.Contains(err.Error(), "extending") {
			leaseErrs.Add(1)
			t.Logf("lease error: %v", err)
		}
	})}
	if leases {
		opts = append(opts, region.WithLockLeases())
	}
	r := newRegion(t, "memcached", leaseArgs(addrs), opts...)

	var gaps atomic.Int64 // times the lock item was seen lost (see the watch below)
	started := make(chan struct{})
	stopWatch := make(chan struct{}) // closed when the parent's creator has done its work
	var parentStart, parentEnd time.Time
	creator := func(context.Context) (string, error) {
		if err := raw.Add(&gomemcache.Item{Key: canary, Value: []byte("parent"), Expiration: 60}); err != nil {
			return "", fmt.Errorf("canary add: %w", err)
		}
		parentStart = time.Now()
		close(started)
		if !waitForItem(raw, asking) {
			return "", errors.New("the second process never asked for the key")
		}
		if leases {
			time.Sleep(leaseCreator) // while the second process waits
		} else if !waitForItem(raw, ran) {
			return "", errors.New("without leases the second process's creator never started")
		} else if !waitUntil(func() bool { return gaps.Load() > 0 }) {
			return "", errors.New("without leases the lock item never went missing or changed holder")
		}
		parentEnd = time.Now()
		close(stopWatch)
		if err := raw.Delete(canary); err != nil {
			return "", fmt.Errorf("canary delete: %w", err)
		}
		return "parent", nil
	}
	var wg sync.WaitGroup
	var parentVal string
	var parentErr error
	parentDone := make(chan struct{})
	go func() {
		defer close(parentDone)
		parentVal, parentErr = region.GetOrCreateAs(ctx, r, key, creator)
	}()

	select {
	case <-started:
	case <-time.After(30 * time.Second):
		t.Fatal("the parent's creator did not start")
	}
	// Watch the lock item while the creator works: missing, or holding
	// another holder's token, it was lost.
	wg.Go(func() {
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		var token []byte
		for {
			select {
			case <-stopWatch:
				return
			case <-tick.C:
				it, err := raw.Get(lockItem)
				switch {
				case errors.Is(err, gomemcache.ErrCacheMiss):
					gaps.Add(1)
				case err != nil:
				case token == nil:
					token = it.Value
				case !bytes.Equal(it.Value, token):
					gaps.Add(1)
				}
			}
		}
	})

	cmd := childCmd(t,
		childEnv+"=lease",
		testservers.MemcachedEnv(addrs),
		"LEASE_KEY="+key,
		"LEASE_CANARY="+canary,
		"LEASE_ASKING="+asking,
		"LEASE_RAN="+ran,
		fmt.Sprintf("LEASE_LEASES=%v", leases),
	)
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("start the second process: %v", err)
	}
	childErr := cmd.Wait()
	<-parentDone
	wg.Wait()
	if childErr != nil {
		t.Fatalf("second process: %v\nstderr:\n%s", childErr, stderr.String())
	}
	var rep leaseReport
	if err := json.Unmarshal([]byte(stdout.String()), &rep); err != nil {
		t.Fatalf("second process: bad report %q: %v\nstderr:\n%s", stdout.String(), err, stderr.String())
	}
	if parentErr != nil || parentVal != "parent" {
		t.Fatalf("first process: GetOrCreate = %q, %v", parentVal, parentErr)
	}
	at := func(ns int64) string {
		if ns == 0 {
			return "never"
		}
		return time.Unix(0, ns).Sub(parentStart).Round(time.Millisecond).String()
	}
	t.Logf("leases %v, lock_timeout %v, creator %v: second process's creator ran at %s (overlap %v), its GetOrCreate returned %q at %s; first creator ended at %s; lock item missing or another's %d times, lease errors %d",
		leases, leaseLockTimeout, leaseCreator, at(rep.RanAt), rep.Overlap, rep.Value, at(rep.Done),
		parentEnd.Sub(parentStart).Round(time.Millisecond), gaps.Load(), leaseErrs.Load())
	if leases && leaseErrs.Load() > 0 {
		t.Errorf("%d lease extensions failed", leaseErrs.Load())
	}
	if leases && !rep.Ran && time.Unix(0, rep.Done).Before(parentEnd) {
		t.Errorf("the second process returned before the first creator finished")
	}
	return rep, int(gaps.Load())
}

func leaseArgs(addrs []string) region.Arguments {
	return region.Arguments{"url": addrs, "lock_timeout": leaseLockTimeout.Seconds(), "socket_timeout": 2}
}

// leaseChild is the second process of TestLockLeases: one GetOrCreate on
// the slow key, with a creator that checks the canary.
func leaseChild() int {
	addrs, err := testservers.MemcachedAddrs()
	if err != nil {
		fmt.Fprintln(os.Stderr, "lease child:", err)
		return 2
	}
	key, canary := os.Getenv("LEASE_KEY"), os.Getenv("LEASE_CANARY")
	asking, ran := os.Getenv("LEASE_ASKING"), os.Getenv("LEASE_RAN")
	var opts []region.Option
	if os.Getenv("LEASE_LEASES") == "true" {
		opts = append(opts, region.WithLockLeases())
	}
	r := region.New("lease-child", opts...)
	if err := r.Configure("memcached", region.WithArguments(leaseArgs(addrs))); err != nil {
		fmt.Fprintln(os.Stderr, "lease child:", err)
		return 2
	}
	defer r.Close()
	raw := gomemcache.New(addrs...)
	raw.Timeout = 2 * time.Second
	defer raw.Close()

	var rep leaseReport
	creator := func(context.Context) (string, error) {
		rep.Ran, rep.RanAt = true, time.Now().UnixNano()
		err := raw.Add(&gomemcache.Item{Key: canary, Value: []byte("child"), Expiration: 60})
		if serr := raw.Set(&gomemcache.Item{Key: ran, Value: []byte("1"), Expiration: 60}); serr != nil {
			return "", fmt.Errorf("ran: %w", serr)
		}
		switch {
		case errors.Is(err, gomemcache.ErrNotStored):
			rep.Overlap = true
		case err != nil:
			return "", fmt.Errorf("canary add: %w", err)
		default:
			defer raw.Delete(canary)
		}
		time.Sleep(100 * time.Millisecond)
		return "child", nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := raw.Set(&gomemcache.Item{Key: asking, Value: []byte("1"), Expiration: 60}); err != nil {
		fmt.Fprintln(os.Stderr, "lease child: asking:", err)
		return 2
	}
	v, err := region.GetOrCreateAs(ctx, r, key, creator)
	rep.Value, rep.Done = v, time.Now().UnixNano()
	if err != nil {
		rep.Err = err.Error()
	}
	if err := json.NewEncoder(os.Stdout).Encode(rep); err != nil {
		fmt.Fprintln(os.Stderr, "lease child:", err)
		return 2
	}
	return 0
}

// waitForItem waits (a minute at most) until key is on the servers.
func waitForItem(raw *gomemcache.Client, key string) bool {
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if _, err := raw.Get(key); err == nil {
			return true
		}
	}
	return false
}

// waitUntil waits (a minute at most) until cond holds.
func waitUntil(cond func() bool) bool {
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if cond() {
			return true
		}
	}
	return false
}
