//go:build unix

package cli

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/dogpile-go/dogpile/internal/testservers"
)

// started is a running dogpile command.
type started struct {
	cmd      *exec.Cmd
	out, err *syncBuffer
	done     chan struct{}
	code     int
	group    bool // signals go to the process group
}

// start runs the built command in the background.
func start(t *testing.T, args ...string) *started {
	t.Helper()
	return startIn(t, false, args...)
}

// startIn is start, in a process group of its own when group is true:
// signalAndWait then signals the whole group, as a terminal's Ctrl-C does.
func startIn(t *testing.T, group bool, args ...string) *started {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	t.Cleanup(cancel)
	s := &started{cmd: exec.CommandContext(ctx, binary, args...), out: &syncBuffer{}, err: &syncBuffer{}, done: make(chan struct{}), group: group}
	s.cmd.Stdout, s.cmd.Stderr = s.out, s.err
	if group {
		s.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	}
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		defer close(s.done)
		err := s.cmd.Wait()
		var ee *exec.ExitError
		switch {
		case errors.As(err, &ee):
			s.code = ee.ExitCode()
		case err != nil:
			s.code = -1
		}
	}()
	t.Cleanup(func() {
		_ = s.cmd.Process.Kill()
		<-s.done
	})
	return s
}

// signalAndWait sends sig and returns how long the command took to exit.
func (s *started) signalAndWait(t *testing.T, sig os.Signal) time.Duration {
	t.Helper()
	sent := time.Now()
	var err error
	if s.group {
		err = syscall.Kill(-s.cmd.Process.Pid, sig.(syscall.Signal))
	} else {
		err = s.cmd.Process.Signal(sig)
	}
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-s.done:
	case <-time.After(20 * time.Second):
		t.Fatalf("still running 20s after %v; stdout %q, stderr %q", sig, s.out, s.err)
	}
	return time.Since(sent)
}

// TestBinaryBenchSignals: on the first SIGINT or SIGTERM a running bench
// exits within 2 s, prints the strategies measured so far (the current one
// marked partial), says it was interrupted and exits 130; in JSON too, and
// with worker processes.
func TestBinaryBenchSignals(t *testing.T) {
	// The progress bar on stderr tells when the second strategy starts.
	bench := []string{"bench", "--duration", "2s", "-n", "20", "-k", "3", "--expiration", "250ms",
		"--strategies", "cache-aside,region,region-async", "--progress", "always"}
	cases := []struct {
		name  string
		sig   os.Signal
		extra []string
	}{
		{"SIGINT", os.Interrupt, nil},
		{"SIGTERM", syscall.SIGTERM, nil},
		{"SIGINT --json", os.Interrupt, []string{"--json"}},
		{"SIGINT --procs 2", os.Interrupt, []string{"--procs", "2"}},
		// Ctrl-C in a terminal signals the whole process group: the
		// workers get it from the terminal and from their parent.
		{"Ctrl-C to the group --procs 2", os.Interrupt, []string{"--procs", "2", "group"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			group := slicesContain(c.extra, "group")
			args := append(bench, c.extra...)
			if group {
				args = args[:len(args)-1]
			}
			s := startIn(t, group, args...)
			waitFor(t, func() bool { return strings.Contains(s.err.String(), "[2/3]") })
			time.Sleep(time.Second) // region running (its worker processes started)
			took := s.signalAndWait(t, c.sig)
			out, errOut := s.out.String(), s.err.String()
			defer func() {
				if t.Failed() {
					t.Logf("exit %d after %s\n%s%s", s.code, took, out, errOut)
				}
			}()
			if took > 2*time.Second {
				t.Errorf("exited %s after %v, want within 2s", took, c.sig)
			}
			if s.code != ExitInterrupted || !strings.Contains(errOut, "dogpile: interrupted; the results so far are above\n") {
				t.Errorf("exit %d, stderr %q; want 130 and a word that it was interrupted", s.code, errOut)
			}
			if slicesContain(c.extra, "--json") {
				b := parseBench(t, out)
				if !b.Interrupted || b.Complete || len(b.Results) != 2 || b.Results[0].Partial || !b.Results[1].Partial || b.Results[1].Requests == 0 {
					t.Errorf("JSON: %+v", b)
				}
				return
			}
			for _, want := range []string{"cache-aside (go-cache) ", "region.GetOrCreate (memory) *", "* region was stopped after",
				"INTERRUPTED: the results above are those measured so far. Not run: region-async."} {
				if !strings.Contains(out, want) {
					t.Errorf("stdout lacks %q", want)
				}
			}
		})
	}
}

// TestBinaryLockHoldSignal: Ctrl-C while holding a lock releases it and
// exits 130 at once.
func TestBinaryLockHoldSignal(t *testing.T) {
	s := start(t, "lock", "--hold", "10m", "report")
	waitFor(t, func() bool { return strings.Contains(s.out.String(), "holding it for 10m") })
	took := s.signalAndWait(t, os.Interrupt)
	if took > 2*time.Second || s.code != ExitInterrupted || !strings.Contains(s.out.String(), `released lock for key "report"`) {
		t.Errorf("exit %d after %s, stdout %q, stderr %q", s.code, took, s.out, s.err)
	}
}

// TestBinaryHungServerSignal: a get, set or lock waiting on a memcached
// server that hangs (SIGSTOP: it accepts connections and never answers)
// ends at once on SIGINT, though the client's socket_timeout is long.
func TestBinaryHungServerSignal(t *testing.T) {
	addr, srv := testservers.StartMemcached(t)
	srv.Pause()
	defer srv.Resume()
	store := []string{"-b", "memcached", "-a", "url=" + addr, "-a", "socket_timeout=30s"}
	for _, args := range [][]string{
		{"get", "--timeout", "1m", "k"},
		{"set", "--timeout", "1m", "k", "1"},
		{"delete", "--timeout", "1m", "k"},
		{"lock", "--timeout", "1m", "--hold", "5s", "k"},
		{"bench", "--duration", "5s", "--progress", "never"},
	} {
		t.Run(args[0], func(t *testing.T) {
			s := start(t, append(store, args...)...)
			time.Sleep(700 * time.Millisecond)
			took := s.signalAndWait(t, os.Interrupt)
			if took > 2*time.Second || s.code != ExitInterrupted {
				t.Errorf("exit %d after %s (want 130 within 2s), stdout %q, stderr %q", s.code, took, s.out, s.err)
			}
		})
	}
}

// TestWatchSignals: a command that does not stop after the first signal
// is ended by the second, or after graceAfterSignal.
func TestWatchSignals(t *testing.T) {
	signals := make(chan os.Signal, 2)
	cancelled, exited := make(chan struct{}), make(chan struct{})
	var stderr syncBuffer
	go watchSignals(signals, func() { close(cancelled) }, make(chan struct{}), &stderr, func() { close(exited) }, true)
	signals <- os.Interrupt
	<-cancelled
	signals <- os.Interrupt
	select {
	case <-exited:
	case <-time.After(5 * time.Second):
		t.Fatal("a second signal did not end the command")
	}
	if !strings.Contains(stderr.String(), "interrupted again") {
		t.Errorf("stderr %q", stderr.String())
	}
	// A command that ends after the first signal is left alone.
	signals = make(chan os.Signal, 2)
	done := make(chan struct{})
	returned := make(chan struct{})
	go func() {
		watchSignals(signals, func() { close(done) }, done, &bytes.Buffer{}, func() { t.Error("exit called") }, true)
		close(returned)
	}()
	signals <- syscall.SIGTERM
	<-returned
	// A bench worker ignores the second signal (its parent's, after the
	// terminal's): the grace period alone ends it.
	signals = make(chan os.Signal, 2)
	cancelled, exited = make(chan struct{}), make(chan struct{})
	start := time.Now()
	go watchSignals(signals, func() { close(cancelled) }, make(chan struct{}), &bytes.Buffer{}, func() { close(exited) }, false)
	signals <- os.Interrupt
	<-cancelled
	signals <- os.Interrupt
	<-exited
	if d := time.Since(start); d < graceAfterSignal {
		t.Errorf("worker ended %s after the first signal, before the grace period", d)
	}
}

func slicesContain(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
