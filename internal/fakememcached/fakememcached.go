// Package fakememcached is for this module's tests only: a
// memcached-protocol server on loopback whose clock the test drives, for
// tests of what memcached's one-second clock does to expiration times
// (lock items, memcached_expire_time), which a real server's clock makes
// slow and, on a loaded machine, flaky.
//
// It implements the commands the module's memcached clients send (set,
// add, replace, cas, get, gets, delete, touch, version) with memcached
// 1.6's expiration semantics: the server keeps time as current_time, in
// whole seconds; an exptime up to 30 days is relative to current_time, a
// larger one an absolute Unix time, a negative one "expired now", zero
// "never"; an item is gone once current_time reaches its expiry.
// memcached's timer advances current_time about once a second, by 1, or by
// 2 when its lateness crosses a second; the test plays that timer with
// Tick.
package fakememcached

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// Epoch is the Unix time at which current_time was 0: an absolute exptime
// e is current_time e - Epoch.
const Epoch = 1_700_000_000

// StartTime is current_time when the server starts.
const StartTime = 1000

// Server is a fake memcached server; see the package documentation.
type Server struct {
	ln   net.Listener
	mu   sync.Mutex
	now  int64 // current_time
	cas  uint64
	data map[string]*item
	wg   sync.WaitGroup
}

type item struct {
	flags uint32
	exp   int64 // current_time at which it is gone; 0: never
	cas   uint64
	value []byte
}

// Start starts a server on a free loopback port; it stops when the test
// ends.
func Start(t testing.TB) *Server {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{ln: ln, now: StartTime, data: map[string]*item{}}
	s.wg.Go(s.serve)
	t.Cleanup(s.stop)
	return s
}

// Addr returns the server's host:port.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// Tick advances current_time by n seconds, as one event of memcached's
// clock timer.
func (s *Server) Tick(n int64) {
	s.mu.Lock()
	s.now += n
	s.mu.Unlock()
}

// Now returns current_time.
func (s *Server) Now() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.now
}

// Expiry returns the current_time at which key's item is gone (0: never)
// and whether the item is there now.
func (s *Server) Expiry(key string) (exp int64, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	it := s.live(key)
	if it == nil {
		return 0, false
	}
	return it.exp, true
}

// stop closes the listener and every connection, and waits for them.
func (s *Server) stop() {
	_ = s.ln.Close()
	s.wg.Wait()
}

func (s *Server) serve() {
	var conns sync.WaitGroup
	var mu sync.Mutex
	open := map[net.Conn]bool{}
	defer func() {
		mu.Lock()
		for c := range open {
			_ = c.Close()
		}
		mu.Unlock()
		conns.Wait()
	}()
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return
		}
		mu.Lock()
		open[c] = true
		mu.Unlock()
		conns.Go(func() {
			defer func() {
				mu.Lock()
				delete(open, c)
				mu.Unlock()
				_ = c.Close()
			}()
			s.conn(c)
		})
	}
}

// expiry converts an exptime field into the current_time the item is gone
// at (0: never), as memcached's realtime() does.
func (s *Server) expiry(exptime int64) int64 {
	switch {
	case exptime == 0:
		return 0
	case exptime < 0:
		return s.now // gone at once
	case exptime > 30*24*3600:
		return exptime - Epoch
	}
	return s.now + exptime
}

// live returns key's item unless it has expired (then it is dropped).
func (s *Server) live(key string) *item {
	it := s.data[key]
	if it != nil && it.exp != 0 && it.exp <= s.now {
		delete(s.data, key)
		return nil
	}
	return it
}

func (s *Server) conn(c net.Conn) {
	r, w := bufio.NewReader(c), bufio.NewWriter(c)
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		fields := strings.Fields(line)
		if len(fields) == 0 {
			continue
		}
		reply := s.command(fields, r)
		if reply == "" {
			return
		}
		if _, err := w.WriteString(reply); err != nil || w.Flush() != nil {
			return
		}
	}
}

// command runs one command and returns the reply ("" closes the
// connection on a protocol error).
func (s *Server) command(fields []string, r *bufio.Reader) string {
	num := func(f string) int64 { n, _ := strconv.ParseInt(f, 10, 64); return n }
	switch cmd := fields[0]; cmd {
	case "set", "add", "replace", "cas":
		if len(fields) < 5 || (cmd == "cas" && len(fields) < 6) {
			return "ERROR\r\n"
		}
		n := num(fields[4])
		if n < 0 {
			return ""
		}
		data := make([]byte, n+2)
		if _, err := io.ReadFull(r, data); err != nil {
			return ""
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		key, old := fields[1], s.live(fields[1])
		switch {
		case cmd == "add" && old != nil:
			return "NOT_STORED\r\n"
		case cmd == "replace" && old == nil:
			return "NOT_STORED\r\n"
		case cmd == "cas" && old == nil:
			return "NOT_FOUND\r\n"
		case cmd == "cas" && old.cas != uint64(num(fields[5])):
			return "EXISTS\r\n"
		}
		s.cas++
		s.data[key] = &item{flags: uint32(num(fields[2])), exp: s.expiry(num(fields[3])), cas: s.cas, value: data[:n]}
		s.live(key) // a negative exptime removes it at once
		return "STORED\r\n"
	case "get", "gets":
		s.mu.Lock()
		defer s.mu.Unlock()
		var b strings.Builder
		for _, k := range fields[1:] {
			if it := s.live(k); it != nil {
				fmt.Fprintf(&b, "VALUE %s %d %d", k, it.flags, len(it.value))
				if cmd == "gets" {
					fmt.Fprintf(&b, " %d", it.cas)
				}
				fmt.Fprintf(&b, "\r\n%s\r\n", it.value)
			}
		}
		return b.String() + "END\r\n"
	case "delete":
		if len(fields) < 2 {
			return "ERROR\r\n"
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.live(fields[1]) == nil {
			return "NOT_FOUND\r\n"
		}
		delete(s.data, fields[1])
		return "DELETED\r\n"
	case "touch":
		if len(fields) < 3 {
			return "ERROR\r\n"
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		it := s.live(fields[1])
		if it == nil {
			return "NOT_FOUND\r\n"
		}
		it.exp = s.expiry(num(fields[2]))
		s.live(fields[1])
		return "TOUCHED\r\n"
	case "version":
		return "VERSION 1.6.0-fake\r\n"
	}
	return "ERROR\r\n"
}
