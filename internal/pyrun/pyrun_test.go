package pyrun_test

import (
	"errors"
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/dogpile-go/dogpile/internal/pyrun"
)

func TestRunSourceArgsStdinEnv(t *testing.T) {
	py := pyrun.Require(t)
	out := py.Run(t, pyrun.Script{
		Source: `import os, sys; print(sys.argv[1], sys.stdin.read(), os.environ["PYRUN_X"], "é")`,
		Args:   []string{"arg"},
		Stdin:  []byte("in"),
		Env:    []string{"PYRUN_X=env"},
	})
	if got, want := string(out), "arg in env é\n"; got != want {
		t.Fatalf("output %q, want %q", got, want)
	}
}

func TestRunFile(t *testing.T) {
	py := pyrun.Require(t)
	out := py.Run(t, pyrun.Script{File: "testdata/echo.py", Args: []string{"a", "b"}})
	if got, want := string(out), "a,b\n"; got != want {
		t.Fatalf("output %q, want %q", got, want)
	}
}

func TestOutputReportsStderr(t *testing.T) {
	py := pyrun.Require(t)
	_, err := py.Output(t.Context(), pyrun.Script{Source: `import sys; sys.stderr.write("boom\n"); sys.exit(3)`})
	var pe *pyrun.Error
	if !errors.As(err, &pe) || !strings.Contains(err.Error(), "boom") || !strings.Contains(err.Error(), "exit status 3") {
		t.Fatalf("error %v, want a *pyrun.Error with the stderr and exit status", err)
	}
}

func TestOutputTimeout(t *testing.T) {
	py := pyrun.Require(t)
	start := time.Now()
	_, err := py.Output(t.Context(), pyrun.Script{Source: `import time; time.sleep(60)`, Timeout: 200 * time.Millisecond})
	if err == nil || !strings.Contains(err.Error(), "deadline exceeded") {
		t.Fatalf("error %v, want a deadline error", err)
	}
	if d := time.Since(start); d > 30*time.Second {
		t.Fatalf("timed-out run took %v", d)
	}
}

func TestOutputNeedsOneOfSourceAndFile(t *testing.T) {
	py := pyrun.Require(t)
	if _, err := py.Output(t.Context(), pyrun.Script{}); err == nil {
		t.Fatal("empty script: no error")
	}
	if _, err := py.Output(t.Context(), pyrun.Script{Source: "pass", File: "x.py"}); err == nil {
		t.Fatal("source and file: no error")
	}
}

func TestRequireMissingModuleSkips(t *testing.T) {
	t.Setenv("CI", "")
	var skipped bool
	t.Run("missing", func(t *testing.T) {
		defer func() { skipped = t.Skipped() }()
		pyrun.Require(t, "dogpile_go_no_such_module")
		t.Error("Require returned for a missing module")
	})
	if !skipped {
		t.Fatal("a missing module did not skip the test")
	}
}

func TestRequireDogpile(t *testing.T) {
	py := pyrun.Require(t, "dogpile.cache", "pymemcache", "memcache")
	out := py.Run(t, pyrun.Script{Source: `import dogpile; print(dogpile.__version__)`})
	if len(strings.TrimSpace(string(out))) == 0 {
		t.Fatal("no version printed")
	}
}

// outcomeTB records how Require ended a test instead of ending it.
type outcomeTB struct {
	testing.TB
	fatal, skip string
}

func (o *outcomeTB) Fatal(args ...any) { o.fatal = fmt.Sprint(args...); runtime.Goexit() }
func (o *outcomeTB) Skip(args ...any)  { o.skip = fmt.Sprint(args...); runtime.Goexit() }

func requireOutcome(t *testing.T, modules ...string) *outcomeTB {
	o := &outcomeTB{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		pyrun.Require(o, modules...)
	}()
	<-done
	return o
}

func TestRequireMissingModuleFailsUnderCI(t *testing.T) {
	t.Setenv("CI", "true")
	o := requireOutcome(t, "dogpile_go_no_such_module")
	if o.fatal == "" || o.skip != "" {
		t.Fatalf("CI=true: fatal %q, skip %q; want a failure", o.fatal, o.skip)
	}
	if !strings.Contains(o.fatal, "make test") || !strings.Contains(o.fatal, "dogpile_go_no_such_module") {
		t.Errorf("failure %q does not name the module and make test", o.fatal)
	}
	t.Setenv("CI", "")
	o = requireOutcome(t, "memcache")
	if o.fatal != "" || o.skip != "" {
		t.Errorf("installed module: fatal %q, skip %q", o.fatal, o.skip)
	}
}

func TestRequireMissingInterpreter(t *testing.T) {
	t.Setenv(pyrun.EnvInterpreter, "/nonexistent/python3")
	t.Setenv("CI", "")
	o := requireOutcome(t, "dogpile.cache")
	if o.skip == "" || !strings.Contains(o.skip, "python3-dogpile.cache") {
		t.Errorf("missing interpreter: skip %q, want a hint naming python3-dogpile.cache", o.skip)
	}
}
