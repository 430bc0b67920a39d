package region_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	_ "github.com/dogpile-go/dogpile/backends/memcache"
	"github.com/dogpile-go/dogpile/internal/fakememcached"
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
	xprocMargin = 5 * time.Second

	// xprocContrast is how long the contrast test watches for a local
	// invalidation that must not reach this process: CacheFor and more.
	xprocContrast = xprocCacheFor + time.Second
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
	for time.Since(at) < xprocContrast {
		if _, ok, err := r.Get(ctx, key); err != nil || !ok {
			t.Fatalf("a local invalidation in another process reached this one (ok %v, err %v)", ok, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestSharedInvalidationRecordAndMemcachedExpireTime shows what
// memcached_expire_time does to the invalidation record, which is written
// like any value: it expires from memcached with that lifetime. Values
// written before the invalidation with the same lifetime expire no later:
// on the record's server at the same tick of its clock, on another server
// within one tick of that server's clock (memcached's clock is one second
// coarse, and servers tick at other moments), so with one
// memcached_expire_time everywhere nothing invalidated comes back. A value
// written with a longer lifetime (here: by a process with
// memcached_expire_time 0) outlives the record, and a process that starts
// after the record expired reads it as valid again; a process that had
// read the record keeps it in memory. docs/memcached.md draws the advice.
//
// The servers are fake memcached servers whose clocks the test moves
// (internal/fakememcached), so no real time passes and a loaded machine
// changes nothing; TestSharedInvalidationRecordTTLOnMemcached checks on a
// real server that the record carries memcached_expire_time.
func TestSharedInvalidationRecordAndMemcachedExpireTime(t *testing.T) {
	ctx := context.Background()
	srvA, srvB := fakememcached.Start(t), fakememcached.Start(t)
	addrs := []string{srvA.Addr(), srvB.Addr()}
	ttl := region.Arguments{"memcached_expire_time": 1}
	// CacheFor an hour: a region reads the record when it first judges a
	// value, and its refresher does not run again during the test (nor
	// write an expired record back).
	newRegion := func(name, invKey string, args region.Arguments) *region.Region {
		t.Helper()
		r := region.New(name)
		a := region.Arguments{"url": addrs, "socket_timeout": 5}
		for k, v := range args {
			a[k] = v
		}
		inv := region.NewSharedInvalidation(r, region.SharedInvalidationOptions{Key: invKey, CacheFor: time.Hour})
		if err := r.Configure("memcached", region.WithExpirationTime(time.Hour), region.WithArguments(a), region.WithInvalidator(inv)); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = r.Close() })
		return r
	}
	probe := newRegion("probe", "unused", nil)
	type serverFor interface{ ServerFor(string) (string, error) }
	sf := probe.ActualBackend().(*region.SerializedBackend).Bytes().(serverFor)
	// on returns the server holding key, and key as the server knows it.
	on := func(key string) (*fakememcached.Server, string) {
		mkey := probe.KeyMangler()(key)
		addr, err := sf.ServerFor(mkey)
		if err != nil {
			t.Fatal(err)
		}
		if addr == srvA.Addr() {
			return srvA, mkey
		}
		return srvB, mkey
	}
	// keyOn returns a key named prefix<n> held by srv.
	keyOn := func(prefix string, srv *fakememcached.Server) string {
		for i := 0; ; i++ {
			if k := fmt.Sprintf("%s%d", prefix, i); func() bool { s, _ := on(k); return s == srv }() {
				return k
			}
		}
	}
	invKey := keyOn("invalidation", srvB) // the record's server is B
	sameKey, otherKey, longKey := keyOn("same", srvB), keyOn("other", srvA), "long"

	a := newRegion("with-ttl", invKey, ttl)
	forever := newRegion("no-ttl", invKey, nil)
	for _, k := range []string{sameKey, otherKey} {
		if err := a.Set(ctx, k, "v"); err != nil {
			t.Fatal(err)
		}
	}
	if err := forever.Set(ctx, longKey, "v"); err != nil {
		t.Fatal(err)
	}
	// a reads the (absent) record now, judging a value: its refresher
	// then waits CacheFor, so nothing but Invalidate writes the record.
	if _, ok, _ := a.Get(ctx, longKey); !ok {
		t.Fatal("a region reads no value before any invalidation")
	}
	time.Sleep(2 * time.Millisecond) // values older than the invalidation
	a.Invalidate(true)
	if _, ok, _ := a.Get(ctx, longKey); ok {
		t.Fatal("the invalidating region reads an invalidated value")
	}

	expiry := func(key string) (exp int64, ok bool) {
		srv, mkey := on(key)
		return srv.Expiry(mkey)
	}
	recExp, ok := expiry(invKey)
	if !ok || recExp != srvB.Now()+1 {
		t.Fatalf("the invalidation record expires at %d (there: %v); want with memcached_expire_time, at %d", recExp, ok, srvB.Now()+1)
	}
	if exp, _ := expiry(sameKey); exp > recExp {
		t.Fatalf("a value written before the record, on its server, with the same memcached_expire_time expires at %d, after the record (%d)", exp, recExp)
	}
	if exp, _ := expiry(longKey); exp != 0 {
		t.Fatalf("a value written without memcached_expire_time expires at %d", exp)
	}

	// B's clock ticks: the record and the value beside it are gone. A's
	// has not ticked yet: the value there is still there, for up to one
	// more tick, and a process that never read the record reads it.
	srvB.Tick(1)
	if _, ok := expiry(invKey); ok {
		t.Fatal("the record outlived its memcached_expire_time")
	}
	if _, ok := expiry(sameKey); ok {
		t.Fatal("a value with the same memcached_expire_time outlived the record on the record's server")
	}
	late := newRegion("late", invKey, ttl)
	if v, ok, _ := late.Get(ctx, otherKey); !ok || v != "v" {
		t.Fatalf("before its server's clock ticked, a process that never read the record reads the value on another server as %v, %v; want it valid (update docs/memcached.md)", v, ok)
	}
	srvA.Tick(1)
	if _, ok, _ := late.Get(ctx, otherKey); ok {
		t.Fatal("a value with the same memcached_expire_time outlived the record by more than one tick of its server's clock")
	}
	// The value written without memcached_expire_time outlives the record:
	// valid again for the new process, not for the one that read the
	// record.
	if v, ok, _ := late.Get(ctx, longKey); !ok || v != "v" {
		t.Errorf("expected the value written without memcached_expire_time to read as valid again in a new process (got %v, %v); update docs/memcached.md", v, ok)
	}
	if _, ok, _ := a.Get(ctx, longKey); ok {
		t.Error("the process that invalidated (and knows the record) reads the invalidated value")
	}
}

// TestSharedInvalidationRecordTTLOnMemcached: on a real memcached server
// the invalidation record is written with memcached_expire_time, like any
// value (TestSharedInvalidationRecordAndMemcachedExpireTime shows what
// follows).
func TestSharedInvalidationRecordTTLOnMemcached(t *testing.T) {
	addrs := testservers.Memcached(t)
	invKey := testservers.UniqueKey(t, "invalidation")
	r, err := xprocRegion("with-ttl", addrs, invKey, region.Arguments{"memcached_expire_time": 100})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if err := r.InvalidateContext(context.Background(), true); err != nil {
		t.Fatal(err)
	}
	b := r.ActualBackend().(*region.SerializedBackend).Bytes().(interface{ ServerFor(string) (string, error) })
	record := r.KeyMangler()(invKey)
	addr, err := b.ServerFor(record)
	if err != nil {
		t.Fatal(err)
	}
	if ttl := memcachedTTL(t, addr, record); ttl < 90 || ttl > 100 {
		t.Fatalf("the invalidation record's remaining lifetime is %d s; want memcached_expire_time, 100 s", ttl)
	}
}

// memcachedTTL asks the server at addr for key's remaining lifetime in
// seconds (meta get "mg <key> t"); -1: none.
func memcachedTTL(t *testing.T, addr, key string) int {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := fmt.Fprintf(c, "mg %s t\r\n", key); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range strings.Fields(line)[1:] {
		if v, ok := strings.CutPrefix(f, "t"); ok {
			n, err := strconv.Atoi(v)
			if err != nil {
				break
			}
			return n
		}
	}
	t.Fatalf("mg %s: reply %q has no TTL", key, line)
	return 0
}
