package memcache_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// childEnv, when set, makes the test binary run a child role of a
// cross-process test instead of the tests (see TestMain).
const childEnv = "DOGPILE_MEMCACHE_CHILD"

func TestMain(m *testing.M) {
	if role := os.Getenv(childEnv); role != "" {
		os.Exit(runChild(role))
	}
	goleak.VerifyTestMain(m)
}

func ctxT(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// metaTTL asks the server at addr for key's remaining lifetime with the
// meta get command: -1 for an item without expiration, ok false when the
// item is absent.
func metaTTL(t testing.TB, addr, key string) (ttl int, ok bool) {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(2 * time.Second))
	if _, err := fmt.Fprintf(c, "mg %s t\r\n", key); err != nil {
		t.Fatalf("mg %s on %s: %v", key, addr, err)
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		t.Fatalf("mg %s on %s: %v", key, addr, err)
	}
	line = strings.TrimSpace(line)
	if line == "EN" {
		return 0, false
	}
	for _, f := range strings.Fields(line)[1:] {
		if strings.HasPrefix(f, "t") {
			n, err := strconv.Atoi(f[1:])
			if err != nil {
				t.Fatalf("mg %s on %s: bad reply %q", key, addr, line)
			}
			return n, true
		}
	}
	t.Fatalf("mg %s on %s: unexpected reply %q", key, addr, line)
	return 0, false
}

// countingDialer counts connections and the commands sent on them, per
// server address.
type countingDialer struct {
	mu       sync.Mutex
	dials    map[string]int
	commands map[string]map[string]int // addr -> command verb -> count
	open     atomic.Int64
}

func newCountingDialer() *countingDialer {
	return &countingDialer{dials: map[string]int{}, commands: map[string]map[string]int{}}
}

func (d *countingDialer) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	var nd net.Dialer
	c, err := nd.DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	d.mu.Lock()
	d.dials[addr]++
	d.mu.Unlock()
	d.open.Add(1)
	return &countingConn{Conn: c, d: d, addr: addr}, nil
}

func (d *countingDialer) count(addr, verb string) int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.commands[addr][verb]
}

func (d *countingDialer) total(verb string) int {
	d.mu.Lock()
	defer d.mu.Unlock()
	n := 0
	for _, m := range d.commands {
		n += m[verb]
	}
	return n
}

func (d *countingDialer) totalDials() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	n := 0
	for _, c := range d.dials {
		n += c
	}
	return n
}

type countingConn struct {
	net.Conn
	d      *countingDialer
	addr   string
	closed atomic.Bool
	line   []byte // a command line not yet complete
	skip   int    // bytes of a stored value still to pass over
}

func (c *countingConn) Write(p []byte) (int, error) {
	c.feed(p)
	return c.Conn.Write(p)
}

// feed splits what the client writes into command lines and counts them
// by verb, passing over the data block of storage commands.
func (c *countingConn) feed(p []byte) {
	for len(p) > 0 {
		if c.skip > 0 {
			n := min(c.skip, len(p))
			c.skip -= n
			p = p[n:]
			continue
		}
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			c.line = append(c.line, p...)
			return
		}
		c.line = append(c.line, p[:i]...)
		p = p[i+1:]
		c.command(strings.TrimRight(string(c.line), "\r"))
		c.line = c.line[:0]
	}
}

func (c *countingConn) command(line string) {
	fields := strings.Fields(line)
	if len(fields) == 0 {
		return
	}
	verb := fields[0]
	switch verb {
	case "set", "add", "replace", "append", "prepend", "cas":
		if len(fields) >= 5 {
			if n, err := strconv.Atoi(fields[4]); err == nil {
				c.skip = n + 2
			}
		}
	}
	c.d.mu.Lock()
	defer c.d.mu.Unlock()
	if c.d.commands[c.addr] == nil {
		c.d.commands[c.addr] = map[string]int{}
	}
	c.d.commands[c.addr][verb]++
}

func (c *countingConn) Close() error {
	if c.closed.CompareAndSwap(false, true) {
		c.d.open.Add(-1)
	}
	return c.Conn.Close()
}
