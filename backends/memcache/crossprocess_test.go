package memcache_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	gomemcache "github.com/bradfitz/gomemcache/memcache"

	_ "github.com/dogpile-go/dogpile/backends/memcache"
	"github.com/dogpile-go/dogpile/internal/testservers"
	"github.com/dogpile-go/dogpile/region"
)

// Parameters of the cross-process dogpile test.
const (
	xprocProcesses  = 4
	xprocGoroutines = 50
	xprocExpiration = time.Second
	xprocCreator    = 250 * time.Millisecond
	xprocRun        = 6 * time.Second
)

// creation is one creator run, as a child reports it.
type creation struct {
	PID   int   `json:"pid"`
	Start int64 `json:"start"` // Unix nanoseconds
	End   int64 `json:"end"`
	// Overlap: the canary add failed, so another creator was running.
	Overlap bool `json:"overlap"`
	// Redundant: a fresh value was already stored when this creator
	// started (a second creation in one expiry window).
	Redundant bool `json:"redundant"`
}

// childReport is what a dogpile child prints as JSON on stdout.
type childReport struct {
	Calls     int64      `json:"calls"`
	Errors    int64      `json:"errors"`
	Empty     int64      `json:"empty"`
	FirstErrs []string   `json:"first_errors"`
	Creations []creation `json:"creations"`
}

// TestCrossProcessDogpile runs 4 OS processes x 50 goroutines calling
// GetOrCreate on one key with a short expiration and a slow creator for
// several expiry windows. A creator must hold the canary item (added with
// memcached add, deleted at its end) while it runs, so a failed add means
// two creators overlapped, across any processes.
func TestCrossProcessDogpile(t *testing.T) {
	if testing.Short() {
		t.Skip("cross-process test skipped in -short mode")
	}
	s := testservers.MemcachedN(t, 3)
	p := testservers.UniqueKey(t, "")
	start := time.Now().Add(1500 * time.Millisecond)
	env := []string{
		childEnv + "=dogpile",
		testservers.MemcachedEnv(s),
		"XPROC_KEY=" + p + "hot key",
		"XPROC_CANARY=" + p + "canary",
		"XPROC_START=" + strconv.FormatInt(start.UnixNano(), 10),
	}
	type child struct {
		cmd    *exec.Cmd
		stdout bytes.Buffer
		stderr bytes.Buffer
	}
	children := make([]*child, xprocProcesses)
	for i := range children {
		c := &child{cmd: childCmd(t, env...)}
		c.cmd.Stdout = &c.stdout
		c.cmd.Stderr = &c.stderr
		if err := c.cmd.Start(); err != nil {
			t.Fatalf("start child %d: %v", i, err)
		}
		children[i] = c
	}
	var all []creation
	var calls, errs, empty int64
	for i, c := range children {
		if err := c.cmd.Wait(); err != nil {
			t.Fatalf("child %d: %v\nstderr:\n%s", i, err, c.stderr.String())
		}
		var rep childReport
		if err := json.Unmarshal(c.stdout.Bytes(), &rep); err != nil {
			t.Fatalf("child %d: bad report %q: %v\nstderr:\n%s", i, c.stdout.String(), err, c.stderr.String())
		}
		calls += rep.Calls
		errs += rep.Errors
		empty += rep.Empty
		for _, e := range rep.FirstErrs {
			t.Errorf("child %d: GetOrCreate error: %s", i, e)
		}
		all = append(all, rep.Creations...)
	}
	slices.SortFunc(all, func(a, b creation) int { return int(a.Start - b.Start) })

	overlaps, redundant := 0, 0
	pids := map[int]int{}
	for i, c := range all {
		pids[c.PID]++
		if c.Overlap {
			overlaps++
		}
		if c.Redundant {
			redundant++
			if i > 0 {
				t.Logf("redundant creation (pid %d) started %v after the previous creation (pid %d) ended",
					c.PID, time.Duration(c.Start-all[i-1].End), all[i-1].PID)
			}
		}
		// Independent check on the reported times: each creator ended
		// before the next one started.
		if i > 0 && all[i-1].End > c.Start {
			t.Errorf("creators overlap in time: %d..%d (pid %d) and %d..%d (pid %d)",
				all[i-1].Start, all[i-1].End, all[i-1].PID, c.Start, c.End, c.PID)
		}
	}
	windows := len(all) - redundant
	ratio := 0.0
	if windows > 0 {
		ratio = float64(len(all)) / float64(windows)
	}
	t.Logf("%d processes x %d goroutines, %v run, expiration %v, creator %v: %d calls, %d creations in %d expiry windows (%.2f creators per window), creations per process %v",
		xprocProcesses, xprocGoroutines, xprocRun, xprocExpiration, xprocCreator, calls, len(all), windows, ratio, pids)
	if overlaps > 0 {
		t.Errorf("%d creators found another creator running (canary add failed)", overlaps)
	}
	if errs > 0 || empty > 0 {
		t.Errorf("%d calls failed and %d got no value, of %d", errs, empty, calls)
	}
	if calls < xprocProcesses*xprocGoroutines {
		t.Errorf("only %d calls made", calls)
	}
	if minWindows := int(xprocRun / (xprocExpiration + xprocCreator)); windows < minWindows {
		t.Errorf("only %d expiry windows saw a creator, want at least %d", windows, minWindows)
	}
	if redundant > 0 {
		// One creator per window is the target; a second one in a window
		// happens when a caller read the expired value, and the previous
		// creator finished before that caller tried the lock (the region
		// does not read the value again after taking the lock on the
		// expired-value path). Reported, not failed.
		t.Logf("%d redundant creations (a fresh value existed when they started)", redundant)
	}
}

// runChild runs a child role of a cross-process test and returns the exit
// code.
func runChild(role string) int {
	switch role {
	case "dogpile":
		rep, err := dogpileChild()
		if err != nil {
			fmt.Fprintln(os.Stderr, "dogpile child:", err)
			return 2
		}
		if err := json.NewEncoder(os.Stdout).Encode(rep); err != nil {
			fmt.Fprintln(os.Stderr, "dogpile child:", err)
			return 2
		}
		return 0
	case "lease":
		return leaseChild()
	}
	fmt.Fprintln(os.Stderr, "unknown child role", role)
	return 2
}

func dogpileChild() (*childReport, error) {
	addrs, err := testservers.MemcachedAddrs()
	if err != nil {
		return nil, err
	}
	key, canary := os.Getenv("XPROC_KEY"), os.Getenv("XPROC_CANARY")
	startNanos, err := strconv.ParseInt(os.Getenv("XPROC_START"), 10, 64)
	if err != nil || key == "" || canary == "" {
		return nil, fmt.Errorf("bad environment: %v", err)
	}
	r := region.New("xproc")
	if err := r.Configure("memcached",
		region.WithExpirationTime(xprocExpiration),
		region.WithArguments(region.Arguments{"url": addrs, "lock_timeout": 5, "socket_timeout": 2})); err != nil {
		return nil, err
	}
	defer r.Close()
	raw := gomemcache.New(addrs...)
	raw.Timeout = 2 * time.Second
	defer raw.Close()
	mkey := region.SHA1MangleKey(key)

	rep := &childReport{}
	var mu sync.Mutex
	creator := func(context.Context) (string, error) {
		c := creation{PID: os.Getpid(), Start: time.Now().UnixNano()}
		err := raw.Add(&gomemcache.Item{Key: canary, Value: []byte(strconv.Itoa(c.PID)), Expiration: 30})
		switch {
		case errors.Is(err, gomemcache.ErrNotStored):
			c.Overlap = true
		case err != nil:
			return "", fmt.Errorf("canary add: %w", err)
		}
		if it, err := raw.Get(mkey); err == nil {
			if md, _, err := region.ParseEnvelope(it.Value); err == nil && time.Since(md.CreatedAt) < xprocExpiration {
				c.Redundant = true
			}
		}
		time.Sleep(xprocCreator)
		c.End = time.Now().UnixNano()
		if !c.Overlap {
			if err := raw.Delete(canary); err != nil {
				return "", fmt.Errorf("canary delete: %w", err)
			}
		}
		mu.Lock()
		rep.Creations = append(rep.Creations, c)
		mu.Unlock()
		return fmt.Sprintf("value-%d-%d", c.PID, c.Start), nil
	}

	time.Sleep(time.Until(time.Unix(0, startNanos)))
	end := time.Now().Add(xprocRun)
	var calls, errs, empty atomic.Int64
	var wg sync.WaitGroup
	for range xprocGoroutines {
		wg.Go(func() {
			for time.Now().Before(end) {
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				v, err := region.GetOrCreateAs(ctx, r, key, creator)
				cancel()
				calls.Add(1)
				switch {
				case err != nil:
					errs.Add(1)
					mu.Lock()
					if len(rep.FirstErrs) < 5 {
						rep.FirstErrs = append(rep.FirstErrs, err.Error())
					}
					mu.Unlock()
				case !strings.HasPrefix(v, "value-"):
					empty.Add(1)
				}
				time.Sleep(5 * time.Millisecond)
			}
		})
	}
	wg.Wait()
	rep.Calls, rep.Errors, rep.Empty = calls.Load(), errs.Load(), empty.Load()
	return rep, nil
}

// childCmd returns the test binary as a child process with env added
// (testservers.ChildContext), killed when its deadline passes (shortly
// before the test's own, and at most childTimeout from now) and, if still
// running, when the test ends: a failed or timed-out test leaves no child
// behind.
func childCmd(t *testing.T, env ...string) *exec.Cmd {
	t.Helper()
	deadline := time.Now().Add(childTimeout)
	if d, ok := t.Deadline(); ok && d.Add(-10*time.Second).Before(deadline) {
		deadline = d.Add(-10 * time.Second)
	}
	ctx, cancel := context.WithDeadline(context.Background(), deadline)
	cmd := testservers.ChildContext(ctx, env...)
	cmd.WaitDelay = 5 * time.Second // Wait returns even if the output pipes stay open
	t.Cleanup(func() {
		if cmd.Process != nil && cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
		cancel()
	})
	return cmd
}

// childTimeout bounds a child process's run.
const childTimeout = 2 * time.Minute
