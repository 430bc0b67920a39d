package memcacheutil

import (
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/bradfitz/gomemcache/memcache"
)

func TestKeyProblem(t *testing.T) {
	for _, k := range []string{"a", "_lockabc", strings.Repeat("k", MaxKeyLength), "~!{}"} {
		if p := KeyProblem(k); p != "" {
			t.Errorf("KeyProblem(%q) = %q, want legal", k, p)
		}
	}
	for _, k := range []string{"", "a b", "a\nb", "del\x7f", "caf\xc3\xa9", "\x80", strings.Repeat("k", MaxKeyLength+1)} {
		if KeyProblem(k) == "" {
			t.Errorf("KeyProblem(%q) = legal, want a reason", k)
		}
	}
}

func TestSecondsAndExpiration(t *testing.T) {
	for _, tc := range []struct {
		d    time.Duration
		want int32
	}{{0, 0}, {-time.Second, 0}, {time.Millisecond, 1}, {time.Second, 1}, {1500 * time.Millisecond, 2}, {1 << 62, 1<<31 - 1}} {
		if got := Seconds(tc.d); got != tc.want {
			t.Errorf("Seconds(%v) = %d, want %d", tc.d, got, tc.want)
		}
	}
	for _, secs := range []int64{0, -1, 1, MaxRelativeExpiration} {
		if got := Expiration(secs); int64(got) != secs {
			t.Errorf("Expiration(%d) = %d, want it unchanged", secs, got)
		}
	}
	want := time.Now().Unix() + MaxRelativeExpiration + 1
	if got := int64(Expiration(MaxRelativeExpiration + 1)); got < want-5 || got > want+5 {
		t.Errorf("Expiration(30 days + 1s) = %d, want about %d (absolute)", got, want)
	}
	if got := Expiration(1 << 40); got != 1<<31-1 {
		t.Errorf("Expiration(huge) = %d, want the largest int32", got)
	}
}

func TestRetry(t *testing.T) {
	calls := 0
	retried, err := Retry(3, func() error { calls++; return io.EOF })
	if calls != 3 || !retried || !errors.Is(err, io.EOF) {
		t.Errorf("stale every time: calls=%d retried=%v err=%v", calls, retried, err)
	}
	calls = 0
	retried, err = Retry(3, func() error {
		calls++
		if calls == 1 {
			return syscall.ECONNRESET
		}
		return nil
	})
	if calls != 2 || !retried || err != nil {
		t.Errorf("stale once: calls=%d retried=%v err=%v", calls, retried, err)
	}
	calls = 0
	timeout := &net.OpError{Op: "read", Err: fmt.Errorf("i/o timeout")}
	if retried, err = Retry(3, func() error { calls++; return timeout }); calls != 1 || retried || err != timeout {
		t.Errorf("timeout: calls=%d retried=%v err=%v; want one call", calls, retried, err)
	}
	if Attempts(0) != memcache.DefaultMaxIdleConns+1 || Attempts(4) != 5 {
		t.Errorf("Attempts(0)=%d Attempts(4)=%d", Attempts(0), Attempts(4))
	}
}

func TestConnError(t *testing.T) {
	addr := &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 1}
	for _, err := range []error{
		&memcache.ConnectTimeoutError{Addr: addr},
		&net.OpError{Op: "dial", Addr: addr, Err: syscall.ECONNREFUSED},
		fmt.Errorf("wrapped: %w", io.EOF),
	} {
		if !ConnError(err) {
			t.Errorf("ConnError(%v) = false", err)
		}
	}
	for _, err := range []error{nil, memcache.ErrCacheMiss, memcache.ErrNotStored, memcache.ErrServerError} {
		if ConnError(err) {
			t.Errorf("ConnError(%v) = true", err)
		}
	}
	if got := ErrAddr(&memcache.ConnectTimeoutError{Addr: addr}); got != "127.0.0.1:1" {
		t.Errorf("ErrAddr = %q", got)
	}
}
