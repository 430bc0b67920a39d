// Package pyrun is for this module's tests only: it runs Python scripts with
// the system interpreter, /usr/bin/python3, so that interoperability tests
// check Go against the real Python libraries of a mixed fleet (Debian's
// python3-dogpile.cache, python3-oslo.cache, python3-pymemcache, ...) rather
// than against a re-implementation.
//
// Require finds the interpreter and checks that the modules a test needs
// import. When they do not, the test is skipped with a hint on how to
// install them (make test installs them), or fails when CI=true:
//
//	py := pyrun.Require(t, "dogpile.cache")
//	out := py.Run(t, pyrun.Script{Source: `import sys; print(sys.argv[1])`, Args: []string{"hi"}})
//
// The python3 found on PATH may be another interpreter (pyenv, say) without
// those packages, so pyrun always uses /usr/bin/python3 unless
// DOGPILE_PYTHON names another one.
package pyrun

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dogpile-go/dogpile/internal/testenv"
)

// DefaultInterpreter is the interpreter Require uses unless the environment
// variable EnvInterpreter names another.
const DefaultInterpreter = "/usr/bin/python3"

// EnvInterpreter names the environment variable that overrides
// DefaultInterpreter.
const EnvInterpreter = "DOGPILE_PYTHON"

// DefaultTimeout bounds a script run whose Script.Timeout is zero.
const DefaultTimeout = 2 * time.Minute

// debianPackages maps importable module names to the Debian packages that
// provide them, for the hint printed when a module is missing.
var debianPackages = map[string]string{
	"dogpile":       "python3-dogpile.cache",
	"dogpile.cache": "python3-dogpile.cache",
	"oslo_cache":    "python3-oslo.cache",
	"oslo_config":   "python3-oslo.config",
	"pymemcache":    "python3-pymemcache",
	"memcache":      "python3-memcache",
	"redis":         "python3-redis",
}

// Python is an interpreter whose required modules import.
type Python struct {
	// Path is the interpreter's path.
	Path string
}

// Script is one run of the interpreter.
type Script struct {
	// Source is the program text, run with python3 -c. Exactly one of
	// Source and File is set.
	Source string
	// File is a program file (testdata/x.py, say), relative to the test's
	// package directory or absolute.
	File string
	// Args are the program's arguments (sys.argv[1:]).
	Args []string
	// Stdin is the program's standard input (empty when nil).
	Stdin []byte
	// Env holds extra KEY=VALUE environment entries. The interpreter runs
	// isolated (-I), so PYTHON* variables have no effect.
	Env []string
	// Timeout bounds the run; zero means DefaultTimeout.
	Timeout time.Duration
}

// Error is a run that failed: the interpreter exited non-zero, timed out or
// could not start. Stderr is what the program wrote there.
type Error struct {
	Err    error
	Stderr []byte
}

// Error says how the run failed, with what the program wrote on standard
// error.
func (e *Error) Error() string {
	msg := strings.TrimSpace(string(e.Stderr))
	if msg == "" {
		return "python: " + e.Err.Error()
	}
	return fmt.Sprintf("python: %v; stderr:\n%s", e.Err, msg)
}

// Unwrap returns the cause: the exit error, the timeout or the start
// failure.
func (e *Error) Unwrap() error { return e.Err }

// checked caches module checks: interpreter path + module list -> error.
var checked sync.Map

// Require returns the interpreter when it exists and every module in
// modules imports (dotted names such as "dogpile.cache" are fine). Otherwise
// the test is skipped with a hint naming the Debian packages to install, or
// fails when the environment variable CI is "true".
func Require(t testing.TB, modules ...string) *Python {
	t.Helper()
	path := os.Getenv(EnvInterpreter)
	if path == "" {
		path = DefaultInterpreter
	}
	if _, err := os.Stat(path); err != nil {
		testenv.SkipOrFail(t, fmt.Sprintf("%s not found (%v); %s", path, err, hint(modules)))
	}
	key := path + "\x00" + strings.Join(modules, ",")
	res, ok := checked.Load(key)
	if !ok {
		res = checkModules(path, modules)
		checked.Store(key, res)
	}
	if err, _ := res.(error); err != nil {
		testenv.SkipOrFail(t, fmt.Sprintf("%s cannot import %s: %v; %s", path, strings.Join(modules, ", "), err, hint(modules)))
	}
	return &Python{Path: path}
}

// checkModules imports every module in one interpreter run; the result is
// an error or a nil error stored as such.
func checkModules(path string, modules []string) any {
	if len(modules) == 0 {
		return nil
	}
	p := &Python{Path: path}
	src := "import " + strings.Join(modules, ", ")
	_, err := p.Output(context.Background(), Script{Source: src, Timeout: time.Minute})
	var pe *Error
	if errors.As(err, &pe) {
		// The traceback's last line names the missing module.
		lines := strings.Split(strings.TrimSpace(string(pe.Stderr)), "\n")
		return errors.New(lines[len(lines)-1])
	}
	if err != nil {
		return err
	}
	return nil
}

// Run runs s and returns its standard output. A failed run fails the test,
// reporting the program's stderr.
func (p *Python) Run(t testing.TB, s Script) []byte {
	t.Helper()
	out, err := p.Output(t.Context(), s)
	if err != nil {
		t.Fatalf("%s", err)
	}
	return out
}

// Output runs s and returns its standard output, or an *Error carrying its
// stderr when it exits non-zero, times out or cannot start.
func (p *Python) Output(ctx context.Context, s Script) ([]byte, error) {
	if (s.Source == "") == (s.File == "") {
		return nil, errors.New("pyrun: set exactly one of Script.Source and Script.File")
	}
	timeout := s.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	// -I: isolated (no user site-packages, PYTHON* variables ignored);
	// -X utf8: text on stdin/stdout/stderr is UTF-8 whatever the locale.
	args := []string{"-I", "-X", "utf8"}
	if s.Source != "" {
		args = append(args, "-c", s.Source)
	} else {
		args = append(args, s.File)
	}
	args = append(args, s.Args...)
	cmd := exec.CommandContext(ctx, p.Path, args...)
	cmd.Env = append(os.Environ(), s.Env...)
	cmd.Stdin = bytes.NewReader(s.Stdin)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			err = fmt.Errorf("%w after %v", ctx.Err(), timeout)
		}
		return stdout.Bytes(), &Error{Err: err, Stderr: stderr.Bytes()}
	}
	return stdout.Bytes(), nil
}

// hint tells how to install the modules.
func hint(modules []string) string {
	pkgs := []string{}
	for _, m := range modules {
		if p, ok := debianPackages[m]; ok && !slices.Contains(pkgs, p) {
			pkgs = append(pkgs, p)
		} else if root, _, _ := strings.Cut(m, "."); debianPackages[root] != "" && !slices.Contains(pkgs, debianPackages[root]) {
			pkgs = append(pkgs, debianPackages[root])
		}
	}
	install := "apt-get install -y python3"
	if len(pkgs) > 0 {
		install = "apt-get install -y " + strings.Join(pkgs, " ")
	}
	return "make test installs the Python side (" + install + ")"
}
