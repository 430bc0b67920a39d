package region_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	gomemcache "github.com/bradfitz/gomemcache/memcache"

	_ "github.com/dogpile-go/dogpile/backends/memcache"
	"github.com/dogpile-go/dogpile/internal/testservers"
	"github.com/dogpile-go/dogpile/region"
)

// Cross-process tests of region.NewSharedInvalidation on real memcached
// servers (DOGPILE_MEMCACHED, set by scripts/test-services.sh): the test
// binary runs itself again as a second OS process, which configures its
// own region on the same servers and invalidates on cue.

const (
	// xprocChildEnv, when set, makes the test binary an invalidating child
	// process instead of running the tests: "shared" uses the shared
	// invalidation strategy, "local" the default in-process one.
	xprocChildEnv = "DOGPILE_REGION_XPROC_CHILD"

	// xprocCacheFor is how long a process trusts the invalidation record it
	// last read.
	xprocCacheFor = 500 * time.Millisecond

	// xprocMargin is how much later than xprocCacheFor an invalidation may
	// be seen (the record's read, scheduling on a loaded machine, -race).
	xprocMargin = time.Second
)

func init() {
	// The child runs before TestMain (and its leak check): it is not a test
	// run.
	if mode := os.Getenv(xprocChildEnv); mode != "" {
		os.Exit(invalidationChild(mode))
	}
}

// xprocRegion configures a region on memcached with a shared invalidation
// record under invKey (nothing shared when invKey is "").
func xprocRegion(name string, addrs []string, invKey string, args region.Arguments) (*region.Region, error) {
	r := region.New(name)
	a := region.Arguments{"url": addrs, "socket_timeout": 2}
	for k, v := range args {
		a[k] = v
	}
	opts := []region.ConfigOption{region.WithExpirationTime(time.Hour), region.WithArguments(a)}
	if invKey != "" {
		opts = append(opts, region.WithInvalidator(region.NewSharedInvalidation(r, region.SharedInvalidationOptions{Key: invKey, CacheFor: xprocCacheFor})))
	}
	if err := r.Configure("memcached", opts...); err != nil {
		return nil, err
	}
	return r, nil
}

// invalidationChild is the second process: it configures its region, says
// "ready", then for each line "hard" or "soft" on stdin invalidates and
// answers "done <Unix nanoseconds>".
func invalidationChild(mode string) int {
	fail := func(err error) int {
		fmt.Fprintln(os.Stderr, "invalidation child:", err)
		return 2
	}
	addrs, err := testservers.MemcachedAddrs()
	if err != nil {
		return fail(err)
	}
	invKey := os.Getenv("XPROC_INV_KEY")
	if mode == "local" {
		invKey = ""
	}
	r, err := xprocRegion("xproc-child", addrs, invKey, nil)
	if err != nil {
		return fail(err)
	}
	defer r.Close()
	fmt.Println("ready")
	in := bufio.NewScanner(os.Stdin)
	for in.Scan() {
		switch cmd := in.Text(); cmd {
		case "hard", "soft":
			r.Invalidate(cmd == "hard")
			fmt.Println("done", time.Now().UnixNano())
		default:
			return fail(fmt.Errorf("unknown command %q", cmd))
		}
	}
	if err := in.Err(); err != nil {
		return fail(err)
	}
	return 0 // stdin closed: the parent is done
}

// invChild is the parent's handle on a child process.
type invChild struct {
	t      *testing.T
	stdin  io.WriteCloser
	stdout *bufio.Reader
	stderr strings.Builder
	cmd    *exec.Cmd
}

func startInvalidationChild(t *testing.T, mode string, addrs []string, invKey string) *invChild {
	t.Helper()
	c := &invChild{t: t, cmd: testservers.Child(
		xprocChildEnv+"="+mode,
		testservers.MemcachedEnv(addrs),
		"XPROC_INV_KEY="+invKey,
	)}
	c.cmd.Stderr = &c.stderr
	var err error
	if c.stdin, err = c.cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	out, err := c.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	c.stdout = bufio.NewReader(out)
	if err := c.cmd.Start(); err != nil {
		t.Fatalf("start the child process: %v", err)
	}
	t.Cleanup(func() {
		_ = c.stdin.Close()
		if err := c.cmd.Wait(); err != nil {
			t.Errorf("child process: %v\nstderr:\n%s", err, c.stderr.String())
		}
	})
	if line := c.readLine(); line != "ready" {
		t.Fatalf("child process said %q; want ready\nstderr:\n%s", line, c.stderr.String())
	}
	return c
}

func (c *invChild) readLine() string {
	c.t.Helper()
	line, err := c.stdout.ReadString('\n')
	if err != nil {
		_ = c.cmd.Process.Kill()
		c.t.Fatalf("reading from the child process: %v\nstderr:\n%s", err, c.stderr.String())
	}
	return strings.TrimSpace(line)
}

// invalidate makes the child invalidate and returns when it did.
func (c *invChild) invalidate(hard bool) time.Time {
	c.t.Helper()
	cmd := "soft"
	if hard {
		cmd = "hard"
	}
	if _, err := fmt.Fprintln(c.stdin, cmd); err != nil {
		c.t.Fatalf("writing to the child process: %v", err)
	}
	line := c.readLine()
	ns, err := strconv.ParseInt(strings.TrimPrefix(line, "done "), 10, 64)
	if err != nil || !strings.HasPrefix(line, "done ") {
		c.t.Fatalf("child process answered %q", line)
	}
	return time.Unix(0, ns)
}

// waitAbsent polls r until key reads as absent and returns how long after
// since that was, or fails after limit.
func waitAbsent(t *testing.T, r *region.Region, key string, since time.Time, limit time.Duration) time.Duration {
	t.Helper()
	ctx := context.Background()
	for {
		_, ok, err := r.Get(ctx, key)
		if err != nil {
			t.Fatalf("Get(%q): %v", key, err)
		}
		if !ok {
			return time.Since(since)
		}
		if time.Since(since) > limit {
			t.Fatalf("%q still readable %v after the other process invalidated (CacheFor %v)", key, limit, xprocCacheFor)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestCrossProcessSharedInvalidation: a second OS process invalidates its
// region (hard, then soft) with the shared strategy on memcached, and this
// process's region, on the same servers and record, sees it within
// CacheFor (plus a margin).
func TestCrossProcessSharedInvalidation(t *testing.T) {
	addrs := testservers.Memcached(t)
	p := testservers.UniqueKey(t, "")
	invKey := p + "invalidation"
	ctx := context.Background()
	r, err := xprocRegion("xproc-parent", addrs, invKey, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	child := startInvalidationChild(t, "shared", addrs, invKey)
	limit := xprocCacheFor + xprocMargin

	// Hard: the value reads as absent, even ignoring expiration, and
	// GetOrCreate creates a new one.
	hardKey := p + "hard"
	if err := r.Set(ctx, hardKey, "v1"); err != nil {
		t.Fatal(err)
	}
	if v, ok, err := r.Get(ctx, hardKey); err != nil || !ok || v != "v1" {
		t.Fatalf("Get before invalidation = %v, %v, %v", v, ok, err)
	}
	time.Sleep(2 * time.Millisecond)
	at := child.invalidate(true)
	seen := waitAbsent(t, r, hardKey, at, limit)
	t.Logf("hard invalidation in the other process seen after %v (CacheFor %v)", seen.Round(time.Millisecond), xprocCacheFor)
	if _, ok, _ := r.Get(ctx, hardKey, region.IgnoreExpiration()); ok {
		t.Error("a hard-invalidated value reads with IgnoreExpiration")
	}
	if !wasInvalidated(r.Invalidator(), true) {
		t.Error("the last invalidation is not a hard one")
	}
	v, err := region.GetOrCreateAs(ctx, r, hardKey, func(context.Context) (string, error) { return "v2", nil })
	if err != nil || v != "v2" {
		t.Fatalf("GetOrCreate after hard invalidation = %q, %v; want a new value", v, err)
	}
	if v, ok, _ := r.Get(ctx, hardKey); !ok || v != "v2" {
		t.Errorf("a value created after the invalidation reads as %v, %v", v, ok)
	}

	// Soft: the value reads as expired. Get misses, IgnoreExpiration still
	// finds it, and while one caller regenerates, others get the old value.
	softKey := p + "soft"
	if err := r.Set(ctx, softKey, "old"); err != nil {
		t.Fatal(err)
	}
	time.Sleep(2 * time.Millisecond)
	at = child.invalidate(false)
	seen = waitAbsent(t, r, softKey, at, limit)
	t.Logf("soft invalidation in the other process seen after %v (CacheFor %v)", seen.Round(time.Millisecond), xprocCacheFor)
	if v, ok, _ := r.Get(ctx, softKey, region.IgnoreExpiration()); !ok || v != "old" {
		t.Errorf("a soft-invalidated value with IgnoreExpiration = %v, %v; want the old value", v, ok)
	}
	if !wasInvalidated(r.Invalidator(), false) {
		t.Error("the last invalidation is not a soft one")
	}
	started, release := make(chan struct{}), make(chan struct{})
	done := make(chan string, 1)
	go func() {
		v, err := region.GetOrCreateAs(ctx, r, softKey, func(context.Context) (string, error) {
			close(started)
			<-release
			return "new", nil
		})
		if err != nil {
			v = "error: " + err.Error()
		}
		done <- v
	}()
	<-started
	other, err := region.GetOrCreateAs(ctx, r, softKey, func(context.Context) (string, error) { return "second creator", nil })
	close(release)
	if err != nil || other != "old" {
		t.Errorf("GetOrCreate while another caller regenerates = %q, %v; want the old value", other, err)
	}
	if v := <-done; v != "new" {
		t.Errorf("the regenerating caller got %q; want the new value", v)
	}
	if v, ok, _ := r.Get(ctx, softKey); !ok || v != "new" {
		t.Errorf("after regeneration Get = %v, %v; want the new value", v, ok)
	}
}

// TestCrossProcessLocalInvalidationStaysLocal is the contrast: with the
// default, in-process strategy the other process's Invalidate never reaches
// this one, so the test above fails without shared invalidation.
func TestCrossProcessLocalInvalidationStaysLocal(t *testing.T) {
	addrs := testservers.Memcached(t)
	p := testservers.UniqueKey(t, "")
	ctx := context.Background()
	r, err := xprocRegion("xproc-parent", addrs, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	child := startInvalidationChild(t, "local", addrs, "")
	key := p + "k"
	if err := r.Set(ctx, key, "v1"); err != nil {
		t.Fatal(err)
	}
	time.Sleep(2 * time.Millisecond)
	at := child.invalidate(true)
	for time.Since(at) < xprocCacheFor+xprocMargin {
		if _, ok, err := r.Get(ctx, key); err != nil || !ok {
			t.Fatalf("a local invalidation in another process reached this one (ok %v, err %v)", ok, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestSharedInvalidationRecordAndMemcachedExpireTime shows what
// memcached_expire_time does to the invalidation record, which is written
// like any value: it expires from memcached with that lifetime. Values
// written before the invalidation with the same lifetime expire no later
// (to within memcached's one-second clock), so with one
// memcached_expire_time everywhere nothing invalidated comes back. A value
// written with a longer lifetime (here: by a process with
// memcached_expire_time 0) outlives the record, and a process that starts
// after the record expired reads it as valid again; a process that had
// read the record keeps it in memory. docs/memcached.md draws the advice.
func TestSharedInvalidationRecordAndMemcachedExpireTime(t *testing.T) {
	if testing.Short() {
		t.Skip("waits for memcached expiry; skipped in -short mode")
	}
	addrs := testservers.Memcached(t)
	p := testservers.UniqueKey(t, "")
	invKey := p + "invalidation"
	ctx := context.Background()
	ttl := region.Arguments{"memcached_expire_time": 1}

	a, err := xprocRegion("with-ttl", addrs, invKey, ttl)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	forever, err := xprocRegion("no-ttl", addrs, invKey, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer forever.Close()

	shortKey, longKey := p+"short", p+"long"
	if err := a.Set(ctx, shortKey, "v"); err != nil {
		t.Fatal(err)
	}
	if err := forever.Set(ctx, longKey, "v"); err != nil {
		t.Fatal(err)
	}
	time.Sleep(2 * time.Millisecond)
	a.Invalidate(true)
	if _, ok, _ := a.Get(ctx, longKey); ok {
		t.Fatal("the invalidating region reads an invalidated value")
	}

	raw := gomemcache.New(addrs...)
	raw.Timeout = 2 * time.Second
	defer raw.Close()
	record := region.SHA1MangleKey(invKey)
	if _, err := raw.Get(record); err != nil {
		t.Fatalf("the invalidation record is not in memcached: %v", err)
	}
	start := time.Now()
	for {
		_, err := raw.Get(record)
		if errors.Is(err, gomemcache.ErrCacheMiss) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if time.Since(start) > 10*time.Second {
			t.Fatal("the invalidation record never expired")
		}
		time.Sleep(50 * time.Millisecond)
	}
	recordGone := time.Now()
	t.Logf("with memcached_expire_time 1s the invalidation record expired after %v", recordGone.Sub(start).Round(10*time.Millisecond))

	// A process started now has no record to read. The value written
	// before the invalidation with the same lifetime is gone too, or goes
	// within memcached's one-second clock (it may sit on another server,
	// whose clock ticks at other moments).
	late, err := xprocRegion("late", addrs, invKey, ttl)
	if err != nil {
		t.Fatal(err)
	}
	defer late.Close()
	for {
		_, ok, err := late.Get(ctx, shortKey)
		if err != nil {
			t.Fatal(err)
		}
		if !ok {
			break
		}
		if time.Since(recordGone) > 1500*time.Millisecond {
			t.Fatal("a value written with the same memcached_expire_time outlived the invalidation record by more than a second")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if d := time.Since(recordGone); d > 20*time.Millisecond {
		t.Logf("the invalidated value with the same memcached_expire_time outlived the record by %v", d.Round(10*time.Millisecond))
	}
	if v, ok, _ := late.Get(ctx, longKey); !ok || v != "v" {
		t.Errorf("expected the value written without memcached_expire_time to read as valid again in a new process (got %v, %v); update docs/memcached.md", v, ok)
	}
	_, ok, _ := a.Get(ctx, longKey)
	t.Logf("the process that invalidated (and knows the record) reads the outliving value: %v; a process started after the record expired: true", ok)
}
