package testservers

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// PrivateSentinelSet is a Sentinel set of the test's own (see
// StartRedisSentinel): a master, a replica and three Sentinels, each a
// Server the test may kill or pause. Everything stops when the test ends.
type PrivateSentinelSet struct {
	SentinelSet
	// MasterServer and ReplicaServer are the data servers; Master and
	// Replica (in SentinelSet) their addresses.
	MasterServer, ReplicaServer *Server
	// SentinelServers are the Sentinels, in the order of Sentinels.
	SentinelServers []*Server
	// logs are the servers' log files: the data servers', then the
	// Sentinels', each with its server's description.
	logs []serverLog
}

type serverLog struct{ name, path string }

// Sentinel timing of private sets: a master that does not answer for
// PrivateSentinelDownAfter is down, and a failover completes well within
// PrivateSentinelFailoverTimeout.
const (
	PrivateSentinelDownAfter       = time.Second
	PrivateSentinelFailoverTimeout = 5 * time.Second
)

// StartRedisSentinel starts a private Sentinel set on free loopback ports
// and waits until the replica is in sync and every Sentinel knows the
// master, the replica and the other Sentinels. Tests that kill the master
// use one, so that the failover disturbs no other test. The test is
// skipped (fails when CI=true) when there is no redis-server binary.
func StartRedisSentinel(t testing.TB, service string) *PrivateSentinelSet {
	t.Helper()
	bin := RedisBin(t)
	dir := t.TempDir()
	set := &PrivateSentinelSet{SentinelSet: SentinelSet{Service: service}}

	dataServer := func(name string, extra ...string) *Server {
		d := filepath.Join(dir, name)
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
		logfile := filepath.Join(dir, name+".log")
		args := func(port string) []string {
			return append([]string{"--port", port, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
				"--daemonize", "no", "--dir", d, "--protected-mode", "yes", "--logfile", logfile}, extra...)
		}
		s := &Server{t: t, name: "redis-server (" + name + ")", bin: bin, args: args, pid: redisPID, wait: 15 * time.Second, graceful: true}
		s.startOnFreePort()
		t.Cleanup(s.Stop)
		set.logs = append(set.logs, serverLog{s.name + " " + s.Addr(), logfile})
		return s
	}
	set.MasterServer = dataServer("master")
	set.Master = set.MasterServer.Addr()
	_, masterPort, _ := net.SplitHostPort(set.Master)
	set.ReplicaServer = dataServer("replica", "--replicaof", "127.0.0.1", masterPort)
	set.Replica = set.ReplicaServer.Addr()

	for i := range 3 {
		logfile := filepath.Join(dir, fmt.Sprintf("sentinel-%d.log", i))
		args := func(port string) []string {
			// A Sentinel rewrites its configuration file: one each, written
			// afresh for every start.
			conf := filepath.Join(dir, fmt.Sprintf("sentinel-%d.conf", i))
			text := strings.Join([]string{
				"port " + port,
				"bind 127.0.0.1",
				"protected-mode yes",
				"daemonize no",
				"logfile " + logfile,
				"dir " + dir,
				fmt.Sprintf("sentinel monitor %s 127.0.0.1 %s 2", service, masterPort),
				fmt.Sprintf("sentinel down-after-milliseconds %s %d", service, PrivateSentinelDownAfter.Milliseconds()),
				fmt.Sprintf("sentinel failover-timeout %s %d", service, PrivateSentinelFailoverTimeout.Milliseconds()),
				fmt.Sprintf("sentinel parallel-syncs %s 1", service),
				"",
			}, "\n")
			if err := os.WriteFile(conf, []byte(text), 0o644); err != nil {
				t.Fatal(err)
			}
			return []string{conf, "--sentinel"}
		}
		s := &Server{t: t, name: fmt.Sprintf("redis-sentinel %d", i), bin: bin, args: args, pid: redisPID, wait: 15 * time.Second, graceful: true}
		s.startOnFreePort()
		t.Cleanup(s.Stop)
		set.SentinelServers = append(set.SentinelServers, s)
		set.Sentinels = append(set.Sentinels, s.Addr())
		set.logs = append(set.logs, serverLog{s.name + " " + s.Addr(), logfile})
	}
	if err := set.WaitReady(30 * time.Second); err != nil {
		t.Fatal(err)
	}
	return set
}

// WaitReady waits until the replica of the current master is in sync and
// every running Sentinel knows the master, at least one replica and the
// other Sentinels.
func (s *SentinelSet) WaitReady(limit time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	var last error
	for {
		if last = s.ready(ctx); last == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("sentinel set %q not ready within %v: %v", s.Service, limit, last)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func (s *SentinelSet) ready(ctx context.Context) error {
	for _, addr := range s.Sentinels {
		sc := redis.NewSentinelClient(&redis.Options{Addr: addr, MaxRetries: -1, DialTimeout: time.Second})
		m, err := sc.Master(ctx, s.Service).Result()
		_ = sc.Close()
		if err != nil {
			return fmt.Errorf("sentinel %s: %w", addr, err)
		}
		if n, _ := strconv.Atoi(m["num-slaves"]); n < 1 {
			return fmt.Errorf("sentinel %s knows no replica yet", addr)
		}
		if n, _ := strconv.Atoi(m["num-other-sentinels"]); n < len(s.Sentinels)-1 {
			return fmt.Errorf("sentinel %s knows %d other sentinels", addr, n)
		}
	}
	master, err := s.CurrentMaster(ctx)
	if err != nil {
		return err
	}
	c := redis.NewClient(&redis.Options{Addr: master, MaxRetries: -1, DialTimeout: time.Second})
	defer c.Close()
	info, err := c.Info(ctx, "replication").Result()
	if err != nil {
		return fmt.Errorf("master %s: %w", master, err)
	}
	if !strings.Contains(info, "role:master") || !strings.Contains(info, "state=online") {
		return fmt.Errorf("master %s has no replica in sync yet", master)
	}
	return nil
}

// WaitForFailover waits until a Sentinel names addr as the master (the
// leader of a failover does so first; the others learn it from it within a
// few seconds), or fails after limit.
func (s *SentinelSet) WaitForFailover(addr string, limit time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	for {
		for _, sa := range s.Sentinels {
			sc := redis.NewSentinelClient(&redis.Options{Addr: sa, MaxRetries: -1, DialTimeout: time.Second})
			hp, err := sc.GetMasterAddrByName(ctx, s.Service).Result()
			_ = sc.Close()
			if err == nil && len(hp) == 2 && net.JoinHostPort(hp[0], hp[1]) == addr {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("no sentinel of %q names %s as master after %v", s.Service, addr, limit)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// CurrentMaster asks the Sentinels, in turn, for the master's address.
func (s *SentinelSet) CurrentMaster(ctx context.Context) (string, error) {
	var last error
	for _, addr := range s.Sentinels {
		sc := redis.NewSentinelClient(&redis.Options{Addr: addr, MaxRetries: -1, DialTimeout: time.Second})
		hp, err := sc.GetMasterAddrByName(ctx, s.Service).Result()
		_ = sc.Close()
		if err == nil && len(hp) == 2 {
			return net.JoinHostPort(hp[0], hp[1]), nil
		}
		last = fmt.Errorf("sentinel %s: %v", addr, err)
	}
	return "", fmt.Errorf("no sentinel names the master of %q: %v", s.Service, last)
}

// Logs returns the last lines (up to n each) of every server's log, the
// data servers' first, then the Sentinels', for a test to show when a
// failover did not go as it should.
func (s *PrivateSentinelSet) Logs(n int) string {
	var b strings.Builder
	for _, l := range s.logs {
		fmt.Fprintf(&b, "--- %s (%s):\n", l.name, l.path)
		data, err := os.ReadFile(l.path)
		if err != nil {
			fmt.Fprintf(&b, "    (%v)\n", err)
			continue
		}
		lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
		if len(lines) > n {
			lines = lines[len(lines)-n:]
		}
		for _, line := range lines {
			b.WriteString("    " + line + "\n")
		}
	}
	return b.String()
}
