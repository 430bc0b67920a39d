package testservers

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/dogpile-go/dogpile/internal/testenv"
)

// Server is a memcached or redis-server process of the test's own on a
// free loopback port, which the test may stop, pause and restart without
// disturbing the shared servers (or other tests). It is stopped when the
// test ends.
type Server struct {
	t    testing.TB
	name string // "memcached" or "redis-server", for messages
	bin  string
	addr string
	args func(port string) []string
	// pid asks the server on addr for its process ID (0: no answer).
	pid func(addr string) int
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
	args := func(port string) []string {
		args := []string{"-l", "127.0.0.1", "-p", port, "-U", "0", "-m", "16", "-c", "256"}
		if os.Geteuid() == 0 {
			args = append(args, "-u", "root") // memcached refuses root without -u
		}
		return args
	}
	srv = &Server{t: t, name: "memcached", bin: bin, args: args, pid: memcachedPID, wait: 10 * time.Second}
	srv.startOnFreePort()
	addr = srv.addr
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
	dir := t.TempDir()
	args := func(port string) []string {
		return []string{"--port", port, "--bind", "127.0.0.1",
			"--save", "", "--appendonly", "no", "--daemonize", "no", "--dir", dir, "--protected-mode", "yes"}
	}
	srv = &Server{t: t, name: "redis-server", bin: bin, args: args, pid: redisPID, wait: 15 * time.Second, graceful: true}
	srv.startOnFreePort()
	addr = srv.addr
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
		testenv.SkipOrFail(t, name+" binary not found (set "+env+"); "+hint())
	}
	return p
}

// Addr returns the server's loopback host:port.
func (s *Server) Addr() string { return s.addr }

// startOnFreePort starts the server on a free port. The port is free when
// picked, but another process may take it before the server binds it; the
// server then fails to start, or another server answers there: Start tells
// (by process ID) and the next free port is tried.
func (s *Server) startOnFreePort() {
	s.t.Helper()
	var err error
	for range 5 {
		s.addr = ClosedAddr(s.t)
		if err = s.start(); err == nil {
			return
		}
	}
	s.t.Fatal(err)
}

// Start starts the server process (again, after Stop) on its address and
// waits until it answers, failing the test when it does not.
func (s *Server) Start() {
	s.t.Helper()
	if err := s.start(); err != nil {
		s.t.Fatal(err)
	}
}

// start starts the process and waits until it answers on s.addr. It fails
// when the process exits first or another process answers there.
func (s *Server) start() error {
	_, port, _ := net.SplitHostPort(s.addr)
	cmd := exec.Command(s.bin, s.args(port)...)
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", s.bin, err)
	}
	s.cmd = cmd
	deadline := time.Now().Add(s.wait)
	for {
		if status, exited := reapIfExited(cmd.Process); exited {
			s.cmd = nil
			return fmt.Errorf("private %s on %s exited at start (port taken?): %s", s.name, s.addr, status)
		}
		switch pid := s.pid(s.addr); {
		case pid == cmd.Process.Pid:
			return nil
		case pid != 0:
			s.Stop()
			return fmt.Errorf("another %s (pid %d) answers on %s", s.name, pid, s.addr)
		}
		if time.Now().After(deadline) {
			s.Stop()
			return fmt.Errorf("private %s on %s did not answer within %v", s.name, s.addr, s.wait)
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

// Kill ends the server process with SIGKILL at once, as a crash or a lost
// machine would, and reaps it. A paused process dies too.
func (s *Server) Kill() {
	if s.cmd == nil || s.cmd.Process == nil || s.cmd.ProcessState != nil {
		s.cmd = nil
		return
	}
	cmd := s.cmd
	s.cmd = nil
	_ = cmd.Process.Kill()
	_ = cmd.Wait()
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

// memcachedPID returns the process ID of the memcached answering on addr
// ("stats": "STAT pid N"), or 0.
func memcachedPID(addr string) int {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return 0
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(time.Second))
	if _, err := c.Write([]byte("stats\r\n")); err != nil {
		return 0
	}
	sc := bufio.NewScanner(c)
	for sc.Scan() {
		line := sc.Text()
		if line == "END" {
			break
		}
		if v, ok := strings.CutPrefix(line, "STAT pid "); ok {
			pid, _ := strconv.Atoi(strings.TrimSpace(v))
			return pid
		}
	}
	return 0
}

// redisPID returns the process ID of the Redis server answering on addr
// (INFO server: "process_id:N"), or 0.
func redisPID(addr string) int {
	c := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1, DialTimeout: 200 * time.Millisecond})
	defer c.Close()
	info, err := c.Info(context.Background(), "server").Result()
	if err != nil {
		return 0
	}
	for line := range strings.Lines(info) {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "process_id:"); ok {
			pid, _ := strconv.Atoi(v)
			return pid
		}
	}
	return 0
}
