//go:build unix

package cli

import (
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/dogpile-go/dogpile/internal/testservers"
)

// TestBinaryMemcachedLock: one process holds a key's memcached lock
// (longer than its lock_timeout, 2 s, so it must extend it); the others
// see it held, and one waiting for it takes it once it is released. The
// holder holds until it is interrupted, so every check runs while the lock
// is held however slowly the processes start on a loaded machine.
func TestBinaryMemcachedLock(t *testing.T) {
	cfg := memcachedConfig(t)
	key := testservers.UniqueKey(t, "report")
	const held = 3 * time.Second // more than lock_timeout
	holder := start(t, "-c", cfg, "lock", "--hold", "1h", key)
	waitFor(t, func() bool { return strings.Contains(holder.out.String(), "holding it for 1h") })
	acquired := time.Now()
	if !strings.HasPrefix(holder.out.String(), `acquired lock for key "`+key+`" (memcached lock item _lock`) {
		t.Fatalf("holder: %q, stderr %q", holder.out, holder.err)
	}
	_, errOut, code := run(t, "", "-c", cfg, "lock", key)
	if code != 1 || !strings.Contains(errOut, "is held by someone else (memcached lock item") {
		t.Errorf("lock while held: exit %d, stderr %q", code, errOut)
	}
	out, _, code := run(t, "", "-c", cfg, "lock", "--check", key)
	if code != 1 || !strings.Contains(out, "locked") {
		t.Errorf("lock --check while held: exit %d, %q", code, out)
	}
	waiter := start(t, "-c", cfg, "lock", "--wait", "--timeout", "1m", key)
	// Release once the lock has been held past its lock_timeout and the
	// waiter has had a while to try for it.
	time.Sleep(max(time.Until(acquired.Add(held)), time.Second))
	select {
	case <-waiter.done:
		t.Fatalf("lock --wait ended while the lock was held: exit %d, %q, %q", waiter.code, waiter.out, waiter.err)
	default:
	}
	holder.signalAndWait(t, os.Interrupt)
	m := regexp.MustCompile(`released lock for key "` + regexp.QuoteMeta(key) + `" after (\S+)\n`).FindStringSubmatch(holder.out.String())
	if holder.code != ExitInterrupted || m == nil {
		t.Fatalf("holder: exit %d, stdout %q, stderr %q; want the lock released and exit %d", holder.code, holder.out, holder.err, ExitInterrupted)
	}
	if d, err := time.ParseDuration(m[1]); err != nil || d < held {
		t.Errorf("holder released the lock after %q; want at least %v (it held it that long)", m[1], held)
	}
	select {
	case <-waiter.done:
	case <-time.After(time.Minute):
		t.Fatalf("lock --wait still waiting a minute after the lock was released: %q, %q", waiter.out, waiter.err)
	}
	if waiter.code != 0 || !strings.Contains(waiter.out.String(), "acquired lock") {
		t.Errorf("lock --wait: exit %d, %q, %q", waiter.code, waiter.out, waiter.err)
	}
	out, _, code = run(t, "", "-c", cfg, "lock", "--check", key)
	if code != 0 || !strings.Contains(out, "not locked") {
		t.Errorf("lock --check after release: exit %d, %q", code, out)
	}
}
