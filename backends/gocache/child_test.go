package gocache_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	_ "github.com/dogpile-go/dogpile/backends/gocache"
	"github.com/dogpile-go/dogpile/internal/testservers"
	"github.com/dogpile-go/dogpile/region"
)

// Child processes: the test binary re-executed with envChildRole set.
// TestMain hands them to runChild instead of running tests.
const (
	envChildRole = "DOGPILE_GOCACHE_CHILD"
	envChildArgs = "DOGPILE_GOCACHE_CHILD_ARGS" // JSON childArgs

	roleHoldLock = "holdlock" // take a key's creation lock, report, wait to be killed
	roleDogpile  = "dogpile"  // hammer GetOrCreate, report a childReport
)

type childArgs struct {
	Redis       string        `json:"redis"`
	Key         string        `json:"key"`
	Keys        []string      `json:"keys"`
	LockTimeout time.Duration `json:"lock_timeout"`
	Expiration  time.Duration `json:"expiration"`
	Goroutines  int           `json:"goroutines"`
	Duration    time.Duration `json:"duration"`
	StartAt     time.Time     `json:"start_at"`
	CreateTime  time.Duration `json:"create_time"`
}

// childReport is what a dogpile child prints as its last line.
type childReport struct {
	PID       int      `json:"pid"`
	Calls     int64    `json:"calls"`
	Creations int64    `json:"creations"`
	Overlaps  int64    `json:"overlaps"` // canary SETNX that failed: another creator was running
	NoValue   int64    `json:"no_value"` // calls that returned no value
	Errors    []string `json:"errors"`
}

func runChild(role string) int {
	var a childArgs
	if err := json.Unmarshal([]byte(os.Getenv(envChildArgs)), &a); err != nil {
		fmt.Fprintln(os.Stderr, "child: bad args:", err)
		return 2
	}
	var err error
	switch role {
	case roleHoldLock:
		err = childHoldLock(a)
	case roleDogpile:
		err = childDogpile(a)
	default:
		err = fmt.Errorf("unknown role %q", role)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "child:", err)
		return 1
	}
	return 0
}

func childRegion(a childArgs) (*region.Region, error) {
	r := region.New("child")
	err := r.Configure("gocache.redis",
		region.WithExpirationTime(a.Expiration),
		region.WithArguments(region.Arguments{"addr": a.Redis, "lock_timeout": a.LockTimeout, "socket_timeout": "5s"}))
	return r, err
}

// childHoldLock takes key's creation lock through the backend's mutex, prints
// "LOCKED <unix nanos before the attempt>" and waits to be killed.
func childHoldLock(a childArgs) error {
	r, err := childRegion(a)
	if err != nil {
		return err
	}
	before := time.Now()
	ok, err := r.Backend().GetMutex(a.Key).Acquire(context.Background(), false)
	if err != nil || !ok {
		return fmt.Errorf("acquire: %v, %v", ok, err)
	}
	fmt.Printf("LOCKED %d\n", before.UnixNano())
	_, _ = io.Copy(io.Discard, os.Stdin) // until the parent kills us
	return nil
}

// childDogpile runs a.Goroutines goroutines calling GetOrCreate on a.Keys
// until a.Duration after a.StartAt. The creator proves it is alone: it must
// SETNX a canary key for its key (which it deletes before returning).
func childDogpile(a childArgs) error {
	r, err := childRegion(a)
	if err != nil {
		return err
	}
	defer r.Close()
	canary := redis.NewClient(&redis.Options{Addr: a.Redis, ReadTimeout: 5 * time.Second})
	defer canary.Close()
	ctx := context.Background()
	pid := os.Getpid()
	rep := childReport{PID: pid}
	var calls, creations, overlaps, noValue atomic.Int64
	var errMu sync.Mutex
	addErr := func(err error) {
		errMu.Lock()
		defer errMu.Unlock()
		if len(rep.Errors) < 20 {
			rep.Errors = append(rep.Errors, err.Error())
		}
	}
	time.Sleep(time.Until(a.StartAt))
	end := a.StartAt.Add(a.Duration)
	var wg sync.WaitGroup
	for g := range a.Goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; time.Now().Before(end); i++ {
				key := a.Keys[(g+i)%len(a.Keys)]
				if g == 0 && i%20 == 19 {
					// Now and then a key disappears: every process then
					// waits for one creator instead of serving the old value.
					if err := r.Delete(ctx, key); err != nil {
						addErr(err)
					}
				}
				calls.Add(1)
				v, err := r.GetOrCreate(ctx, key, func(ctx context.Context) (any, error) {
					creations.Add(1)
					ok, err := canary.SetNX(ctx, "canary:"+key, pid, time.Minute).Result()
					if err != nil {
						return nil, err
					}
					if !ok {
						overlaps.Add(1)
						return fmt.Sprintf("%s@%d (overlapping)", key, pid), nil
					}
					time.Sleep(a.CreateTime)
					if err := canary.Del(ctx, "canary:"+key).Err(); err != nil {
						return nil, err
					}
					return fmt.Sprintf("%s@%d#%d", key, pid, i), nil
				})
				switch {
				case err != nil:
					addErr(err)
				case v == nil || !strings.HasPrefix(v.(string), key+"@"):
					noValue.Add(1)
				}
				time.Sleep(time.Millisecond)
			}
		}()
	}
	wg.Wait()
	rep.Calls, rep.Creations, rep.Overlaps, rep.NoValue = calls.Load(), creations.Load(), overlaps.Load(), noValue.Load()
	out, err := json.Marshal(rep)
	if err != nil {
		return err
	}
	fmt.Printf("REPORT %s\n", out)
	return nil
}

// startChild starts the test binary as a child in role with args. Its
// stdout lines arrive on the returned channel (closed at EOF).
func startChild(t *testing.T, role string, a childArgs) (*exec.Cmd, <-chan string) {
	t.Helper()
	js, err := json.Marshal(a)
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(2 * time.Minute)
	if d, ok := t.Deadline(); ok && d.Add(-10*time.Second).Before(deadline) {
		deadline = d.Add(-10 * time.Second)
	}
	// Killed at the deadline even if the test hangs, and by the cleanup
	// below when the test ends first.
	ctx, cancel := context.WithDeadline(context.Background(), deadline)
	t.Cleanup(cancel)
	cmd := testservers.ChildContext(ctx, envChildRole+"="+role, envChildArgs+"="+string(js))
	cmd.WaitDelay = 5 * time.Second
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe() // held open: the holdlock child waits on it
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = stdin.Close()
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	})
	lines := make(chan string, 16)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	return cmd, lines
}

// awaitLine returns the first line with prefix, failing after timeout.
func awaitLine(t *testing.T, lines <-chan string, prefix string, timeout time.Duration) string {
	t.Helper()
	deadline := time.After(timeout)
	for {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("child exited without printing %q", prefix)
			}
			if rest, found := strings.CutPrefix(l, prefix); found {
				return strings.TrimSpace(rest)
			}
		case <-deadline:
			t.Fatalf("no %q from the child within %v", prefix, timeout)
		}
	}
}

func parseUnixNano(t *testing.T, s string) time.Time {
	t.Helper()
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	return time.Unix(0, n)
}
