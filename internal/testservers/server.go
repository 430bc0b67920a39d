package testservers

import (
	"bufio"
	"context"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// Server is a memcached or redis-server process of the test's own on a
// free loopback port, which the test may stop, pause and restart without
// disturbing the shared servers (or other tests). It is stopped when the
// test ends.
type Server struct {
	t     testing.TB
	name  string // "memcached" or "redis-server", for messages
	bin   string
	addr  string
	args  []string
	ready func(addr string) bool
	// wait is how long Start waits for the server to answer.
	wait time.Duration
	// graceful: Stop sends SIGTERM and waits (up to 5s) before SIGKILL;
	// otherwise it kills the process at once, as a crash would.
	graceful bool
	cmd      *exec.Cmd
}

// StartMemcached starts a private memcached (see Server) and waits until
// it answers. Its Stop kills it with SIGKILL, like a crash; memcached keeps
// nothing, so it is empty after Start again. The test is skipped (fails
// when CI=true) when there is no memcached binary (see MemcachedBin).
func StartMemcached(t testing.TB) (addr string, srv *Server) {
	t.Helper()
	bin := MemcachedBin(t)
	addr = ClosedAddr(t)
	_, port, _ := net.SplitHostPort(addr)
	args := []string{"-l", "127.0.0.1", "-p", port, "-U", "0", "-m", "16", "-c", "256"}
	if os.Geteuid() == 0 {
		args = append(args, "-u", "root") // memcached refuses root without -u
	}
	srv = &Server{t: t, name: "memcached", bin: bin, addr: addr, args: args, ready: memcachedReady, wait: 10 * time.Second}
	srv.Start()
	t.Cleanup(srv.Stop)
	return addr, srv
}

// StartRedis starts a private redis-server (see Server), without
// persistence, and waits until it answers. Its Stop sends SIGTERM (SIGKILL
// after 5s). The test is skipped (fails when CI=true) when there is no
// redis-server binary (see RedisBin).
func StartRedis(t testing.TB) (addr string, srv *Server) {
	t.Helper()
	bin := RedisBin(t)
	addr = ClosedAddr(t)
	_, port, _ := net.SplitHostPort(addr)
	args := []string{"--port", port, "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--daemonize", "no", "--dir", t.TempDir(), "--protected-mode", "yes"}
	srv = &Server{t: t, name: "redis-server", bin: bin, addr: addr, args: args, ready: redisReady, wait: 15 * time.Second, graceful: true}
	srv.Start()
	t.Cleanup(srv.Stop)
	return addr, srv
}

// MemcachedBin returns the memcached binary: DOGPILE_MEMCACHED_BIN, or
// memcached from PATH. Without one the test is skipped (fails when
// CI=true).
func MemcachedBin(t testing.TB) string {
	t.Helper()
	return binary(t, EnvMemcachedBin, "memcached")
}

// RedisBin returns the redis-server binary: DOGPILE_REDIS_BIN, or
// redis-server from PATH, like MemcachedBin.
func RedisBin(t testing.TB) string {
	t.Helper()
	return binary(t, EnvRedisBin, "redis-server")
}

func binary(t testing.TB, env, name string) string {
	t.Helper()
	if p := os.Getenv(env); p != "" {
		return p
	}
	p, err := exec.LookPath(name)
	if err != nil {
		skipOrFail(t, name+" binary not found (set "+env+"); "+hint())
	}
	return p
}

// Addr returns the server's loopback host:port.
func (s *Server) Addr() string { return s.addr }

// Start starts the server process (again, after Stop) and waits until it
// answers, failing the test when it does not.
func (s *Server) Start() {
	s.t.Helper()
	s.cmd = exec.Command(s.bin, s.args...)
	if err := s.cmd.Start(); err != nil {
		s.cmd = nil
		s.t.Fatalf("start %s: %v", s.bin, err)
	}
	deadline := time.Now().Add(s.wait)
	for !s.ready(s.addr) {
		if time.Now().After(deadline) {
			s.Stop()
			s.t.Fatalf("private %s on %s did not answer within %v", s.name, s.addr, s.wait)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Stop ends the server process and reaps it; a paused process is resumed
// first, so that it can die. A memcached is killed (SIGKILL); a
// redis-server gets SIGTERM, and SIGKILL when it has not exited within 5s.
// Stop does nothing when the process is not running.
func (s *Server) Stop() {
	if s.cmd == nil || s.cmd.Process == nil || s.cmd.ProcessState != nil {
		s.cmd = nil
		return
	}
	cmd := s.cmd
	s.cmd = nil
	_ = signalCont(cmd.Process) // a paused process must run to die cleanly
	if !s.graceful {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		return
	}
	_ = signalTerm(cmd.Process)
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		_ = cmd.Process.Kill()
		<-done
	}
}

// Restart stops the server and starts it again (empty).
func (s *Server) Restart() {
	s.t.Helper()
	s.Stop()
	s.Start()
}

// Pause stops the process with SIGSTOP and waits until it is stopped:
// connections are accepted by the kernel but never answered, like a hung
// server. Unix only; elsewhere it fails the test.
func (s *Server) Pause() {
	s.t.Helper()
	if err := signalStop(s.cmd.Process); err != nil {
		s.t.Fatalf("SIGSTOP: %v", err)
	}
	s.waitState('T')
}

// Resume continues a paused server with SIGCONT and waits until it runs
// again.
func (s *Server) Resume() {
	s.t.Helper()
	if err := signalCont(s.cmd.Process); err != nil {
		s.t.Fatalf("SIGCONT: %v", err)
	}
	s.waitState('S')
}

// waitState waits until the process is in the given state (Linux
// /proc/<pid>/stat; elsewhere it just pauses), since signals take effect
// asynchronously.
func (s *Server) waitState(state byte) {
	s.t.Helper()
	pid := s.cmd.Process.Pid
	stat := "/proc/" + strconv.Itoa(pid) + "/stat"
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		b, err := os.ReadFile(stat)
		if err != nil {
			time.Sleep(200 * time.Millisecond)
			return
		}
		// pid (comm) state ...
		if i := strings.LastIndexByte(string(b), ')'); i >= 0 && i+2 < len(b) && b[i+2] == state {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	s.t.Fatalf("%s pid %d did not reach state %c", s.name, pid, state)
}

// memcachedReady reports whether a memcached answers "version" on addr.
func memcachedReady(addr string) bool {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return false
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(time.Second))
	if _, err := c.Write([]byte("version\r\n")); err != nil {
		return false
	}
	line, _ := bufio.NewReader(c).ReadString('\n')
	return strings.HasPrefix(line, "VERSION")
}

// redisReady reports whether a Redis server answers PING on addr.
func redisReady(addr string) bool {
	c := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1, DialTimeout: 200 * time.Millisecond})
	defer c.Close()
	return c.Ping(context.Background()).Err() == nil
}
