package gocache_test

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"os/exec"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/dogpile-go/dogpile/internal/testservers"
	"github.com/dogpile-go/dogpile/lockmutex"
	"github.com/dogpile-go/dogpile/lockmutex/redismutex"
	"github.com/dogpile-go/dogpile/region"
	"github.com/dogpile-go/dogpile/region/regiontest"
)

// The generic suite's mutex tests on the Redis mutex, reached through the
// gocache.redis backend's GetMutex, and what they cannot check: that it is
// a redismutex.Mutex, which refuses to release a lock it does not hold.
func TestRedisMutexSuite(t *testing.T) {
	args := region.Arguments{"addr": testservers.Redis(t), "lock_timeout": 10}
	b := newRegion(t, "gocache.redis", args).Backend()
	ctx := testCtx(t)
	if _, ok := b.GetMutex("k").(*redismutex.Mutex); !ok {
		t.Fatalf("GetMutex = %T; want *redismutex.Mutex", b.GetMutex("k"))
	}

	regiontest.RunMutexTests(t, "gocache.redis", args)

	t.Run("ReleaseNotHeld", func(t *testing.T) {
		k := testservers.UniqueKey(t, "k")
		holder, other := b.GetMutex(k), b.GetMutex(k)
		if ok, err := holder.Acquire(ctx, false); err != nil || !ok {
			t.Fatalf("Acquire = %v, %v", ok, err)
		}
		// Another mutex value cannot release the holder's lock.
		if err := other.Release(ctx); !errors.Is(err, lockmutex.ErrNotHeld) {
			t.Fatalf("Release by a non-holder: %v; want ErrNotHeld", err)
		}
		if err := holder.Release(ctx); err != nil {
			t.Fatal(err)
		}
		if err := holder.Release(ctx); !errors.Is(err, lockmutex.ErrNotHeld) {
			t.Fatalf("second Release: %v; want ErrNotHeld", err)
		}
	})
}

// A lock holder killed with SIGKILL blocks others until its lock times
// out, and not after.
func TestRedisLockHolderKilled(t *testing.T) {
	addr := testservers.Redis(t)
	const timeout = 2 * time.Second
	r := newRegion(t, "gocache.redis", region.Arguments{"addr": addr, "lock_timeout": timeout})
	ctx := testCtx(t)
	key := testservers.UniqueKey(t, "k")

	cmd, lines := startChild(t, roleHoldLock, childArgs{Redis: addr, Key: key, LockTimeout: timeout})
	before := parseUnixNano(t, awaitLine(t, lines, "LOCKED ", 60*time.Second))
	reported := time.Now()
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("child state %v; want killed by SIGKILL", cmd.ProcessState)
	}

	if locked, err := r.KeyIsLocked(ctx, key); err != nil || !locked {
		t.Fatalf("KeyIsLocked after the holder died = %v, %v; want true until the timeout", locked, err)
	}
	if ok, err := r.Backend().GetMutex(key).Acquire(ctx, false); err != nil || ok {
		t.Fatalf("Acquire(wait=false) right after the holder died = %v, %v; want false", ok, err)
	}

	var createdAt time.Time
	v, err := r.GetOrCreate(ctx, key, func(context.Context) (any, error) {
		createdAt = time.Now()
		return "taken over", nil
	})
	if err != nil || v != "taken over" {
		t.Fatalf("GetOrCreate = %v, %v", v, err)
	}
	if earliest := before.Add(timeout); createdAt.Before(earliest) {
		t.Fatalf("lock taken over %v before the dead holder's timeout", earliest.Sub(createdAt))
	}
	// A blocking Acquire retries at most every DefaultMaxRetryDelay.
	if latest := reported.Add(timeout + lockmutex.DefaultMaxRetryDelay + time.Second); createdAt.After(latest) {
		t.Fatalf("lock taken over %v after the dead holder's timeout", createdAt.Sub(reported.Add(timeout)))
	}
	t.Logf("holder locked at %v; taken over %v later (timeout %v)", before.Format(time.StampMicro), createdAt.Sub(before), timeout)
	if locked, err := r.KeyIsLocked(ctx, key); err != nil || locked {
		t.Fatalf("KeyIsLocked after the takeover = %v, %v", locked, err)
	}
}

// Cross-process dogpile: 4 processes x 50 goroutines on one key. At most one
// creator runs at a time across all of them (a canary key each creator
// must SETNX proves it), and every caller gets a value.
func TestRedisCrossProcessDogpile(t *testing.T) {
	if testing.Short() {
		t.Skip("-short")
	}
	addr := testservers.Redis(t)
	rc := testservers.RedisClient(t)
	ctx := testCtx(t)
	key := testservers.UniqueKey(t, "k")
	const procs, goroutines = 4, 50
	a := childArgs{
		Redis:       addr,
		Keys:        []string{key},
		LockTimeout: 20 * time.Second,
		Expiration:  200 * time.Millisecond,
		Goroutines:  goroutines,
		Duration:    4 * time.Second,
		StartAt:     time.Now().Add(5 * time.Second), // all processes start together
		CreateTime:  30 * time.Millisecond,
	}
	type child struct {
		cmd   *exec.Cmd
		lines <-chan string
	}
	var children []child
	for range procs {
		cmd, lines := startChild(t, roleDogpile, a)
		children = append(children, child{cmd, lines})
	}
	var total childReport
	pids := map[int]bool{}
	for _, c := range children {
		line := awaitLine(t, c.lines, "REPORT ", 2*time.Minute)
		if err := c.cmd.Wait(); err != nil {
			t.Fatalf("child: %v", err)
		}
		var rep childReport
		if err := json.Unmarshal([]byte(line), &rep); err != nil {
			t.Fatal(err)
		}
		t.Logf("process %d: %d calls, %d creations", rep.PID, rep.Calls, rep.Creations)
		pids[rep.PID] = true
		total.Calls += rep.Calls
		total.Creations += rep.Creations
		total.Overlaps += rep.Overlaps
		total.NoValue += rep.NoValue
		total.Errors = append(total.Errors, rep.Errors...)
	}
	if len(pids) != procs {
		t.Fatalf("%d distinct processes reported; want %d", len(pids), procs)
	}
	if total.Overlaps != 0 {
		t.Errorf("%d creators found another creator running (canary SETNX failed)", total.Overlaps)
	}
	if len(total.Errors) > 0 {
		t.Errorf("callers got errors: %q", total.Errors)
	}
	if total.NoValue != 0 {
		t.Errorf("%d calls returned no value", total.NoValue)
	}
	if total.Calls < procs*goroutines || total.Creations < 2 {
		t.Errorf("%d calls and %d creations; want every goroutine to call and values to be regenerated", total.Calls, total.Creations)
	}
	if n, err := rc.Exists(ctx, "canary:"+key).Result(); err != nil || n != 0 {
		t.Errorf("canary left behind: %v, %v", n, err)
	}
	t.Logf("%d processes x %d goroutines: %d calls, %d creations, no overlap", procs, goroutines, total.Calls, total.Creations)
}

// Redis stopped mid-run: every call fails within the socket timeout (a
// region with strict backend errors; a default region serves the creator's
// value instead), no goroutine is left behind, and the region recovers once
// Redis is back. Then the same with a server that hangs (SIGSTOP): each
// call ends with the socket timeout's error. The calls run side by side,
// each timed on its own; the time limits leave a loaded machine room but
// stay far below a call that hangs.
func TestRedisOutage(t *testing.T) {
	addr, srv := testservers.StartRedis(t)
	leaks := goleak.IgnoreCurrent()
	const sock = 2 * time.Second
	// Scheduling slack on a loaded machine (and under -race).
	const slack = 2 * time.Second
	ctx := testCtx(t)
	args := region.Arguments{"addr": addr, "socket_timeout": sock, "lock_timeout": 2}
	r := region.New("outage", region.WithStrictBackendErrors())
	if err := r.Configure("gocache.redis", region.WithExpirationTime(time.Minute), region.WithArguments(args)); err != nil {
		t.Fatal(err)
	}
	var reported atomic.Int32
	open := region.New("fail-open", region.WithErrorHandler(func(context.Context, string, error) { reported.Add(1) }))
	if err := open.Configure("gocache.redis", region.WithExpirationTime(time.Minute), region.WithArguments(args)); err != nil {
		t.Fatal(err)
	}
	ops := map[string]func() error{
		"Get":      func() error { _, _, err := r.Get(ctx, "k"); return err },
		"GetMulti": func() error { _, err := r.GetMulti(ctx, []string{"k", "k2"}); return err },
		"Set":      func() error { return r.Set(ctx, "k", "v") },
		"SetMulti": func() error { return r.SetMulti(ctx, map[string]any{"k": 1, "k2": 2}) },
		"Delete":   func() error { return r.Delete(ctx, "k") },
		"DeleteMulti": func() error {
			return r.DeleteMulti(ctx, []string{"k", "k2"})
		},
		"GetOrCreate": func() error {
			_, err := r.GetOrCreate(ctx, "k", func(context.Context) (any, error) { return "v", nil })
			return err
		},
		"KeyIsLocked": func() error { _, err := r.KeyIsLocked(ctx, "k"); return err },
	}
	// A fail-open region's GetOrCreate gives the creator's value: its read,
	// lock and write each fail within the socket timeout.
	failOpen := func(when string) {
		t.Helper()
		before := reported.Load()
		start := time.Now()
		v, err := open.GetOrCreate(ctx, "open-k", func(context.Context) (any, error) { return "made", nil })
		took := time.Since(start)
		if err != nil || v != "made" {
			t.Errorf("%s: fail-open GetOrCreate = %v, %v; want the creator's value", when, v, err)
		}
		if took > 3*sock+slack {
			t.Errorf("%s: fail-open GetOrCreate took %v; want within 3 socket timeouts", when, took)
		}
		if reported.Load() == before {
			t.Errorf("%s: the fail-open region reported no error", when)
		}
		t.Logf("%s: fail-open GetOrCreate served the creator's value after %v", when, took.Round(time.Millisecond))
	}
	allWork := func(when string) {
		t.Helper()
		for name, op := range ops {
			if err := op(); err != nil {
				t.Fatalf("%s: %s: %v", when, name, err)
			}
		}
	}
	// allFail runs every op at once; each must fail within the given
	// time, and with a timeout when hung.
	allFail := func(when string, within time.Duration, hung bool) {
		t.Helper()
		var wg sync.WaitGroup
		for name, op := range ops {
			wg.Go(func() {
				start := time.Now()
				err := op()
				took := time.Since(start)
				if err == nil {
					t.Errorf("%s: %s succeeded", when, name)
					return
				}
				if took > within {
					t.Errorf("%s: %s failed after %v; want within %v (%v)", when, name, took, within, err)
				}
				var ne net.Error
				if hung && !(errors.As(err, &ne) && ne.Timeout()) {
					t.Errorf("%s: %s: %v; want the socket timeout's error", when, name, err)
				}
				t.Logf("%s: %s failed after %v: %v", when, name, took.Round(time.Millisecond), err)
			})
		}
		wg.Wait()
	}
	allWork("before the outage")
	if err := r.Set(ctx, "k", "v"); err != nil {
		t.Fatal(err)
	}
	if v, _, err := r.Get(ctx, "k"); err != nil || v != "v" {
		t.Fatalf("Get = %v, %v", v, err)
	}

	srv.Stop()
	allFail("server stopped", sock+slack, false)
	failOpen("server stopped")

	srv.Start()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, _, err := r.Get(ctx, "k"); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the region did not recover within 10s of the restart")
		}
		time.Sleep(50 * time.Millisecond)
	}
	allWork("after the restart")

	// A hung server: connections open, replies never come.
	srv.Pause()
	allFail("server hung", sock+slack, true)
	failOpen("server hung")
	srv.Resume()
	deadline = time.Now().Add(10 * time.Second)
	for {
		if _, _, err := r.Get(ctx, "k"); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the region did not recover within 10s of SIGCONT")
		}
		time.Sleep(50 * time.Millisecond)
	}
	allWork("after SIGCONT")

	if v, err := open.GetOrCreate(ctx, "open-k", func(context.Context) (any, error) { return "again", nil }); err != nil || v != "again" {
		t.Fatalf("fail-open region after recovery: %v, %v", v, err)
	}
	for _, reg := range []*region.Region{r, open} {
		if err := reg.Close(); err != nil {
			t.Fatal(err)
		}
	}
	goleak.VerifyNone(t, leaks)
}
