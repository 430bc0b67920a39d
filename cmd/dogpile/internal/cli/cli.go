// Package cli is the dogpile command: a stampede benchmark that shows what
// the dogpile lock buys, and a tool to look into a configured store (get,
// set, delete, lock, backends).
//
// The command's main package only imports the backends for their side
// effect and calls Main; everything else is here so tests can drive the
// command through App.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/dogpile-go/dogpile/lockmutex"
	"github.com/dogpile-go/dogpile/region"
)

// App is one dogpile command line: its input, its output, and the regions
// it has opened. The zero value reads and writes nothing; Main uses the
// process's standard streams. An App may run several command lines in
// turn (Run); those that name the same store share one region, so values
// set in the memory backend can be read back by the next command line.
type App struct {
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
	// Executable is the program `bench --procs` starts as its worker
	// processes (default: this program, os.Executable).
	Executable string
	// StderrIsTerminal reports whether Stderr is a terminal, which decides
	// whether `bench` draws a progress bar (--progress auto). Nil: detect
	// it when Stderr is an *os.File.
	StderrIsTerminal func() bool

	mu      sync.Mutex
	regions map[string]*region.Region // by storeConfig fingerprint
	locks   *lockmutex.Registry       // in-process locks for backends without a mutex
}

// Main runs the command with os.Args and the process's standard streams,
// and returns the exit status.
//
// The first SIGINT or SIGTERM ends the command's context: every subcommand
// then stops at once and prints what it has (bench its results so far, lock
// releases the lock). If the command has not ended graceAfterSignal later
// (a call stuck on a hung server, say), or on a second signal, the process
// exits with status 130 without waiting any longer.
func Main() int {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	signals := make(chan os.Signal, 2)
	signal.Notify(signals, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(signals)
	done := make(chan struct{})
	defer close(done)
	// A bench worker process gets Ctrl-C twice, from the terminal and from
	// its parent: only the grace period ends it, so that it reports its
	// counts first.
	worker := len(os.Args) > 1 && os.Args[1] == benchWorkerName
	go watchSignals(signals, cancel, done, os.Stderr, func() { os.Exit(ExitInterrupted) }, !worker)
	if os.Getenv("DOGPILE_DEBUG") == "" {
		// go-redis logs failed dials itself; the command reports them once.
		redis.SetLogger(quietLogger{})
	}
	a := &App{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr}
	defer a.Close()
	return a.Run(ctx, os.Args[1:])
}

// graceAfterSignal is how long the command may take to stop after the
// first SIGINT or SIGTERM.
const graceAfterSignal = 3 * time.Second

// watchSignals cancels the command on the first signal, and calls exit
// when the command has not ended (done) within graceAfterSignal, or on a
// second signal when secondExits.
func watchSignals(signals <-chan os.Signal, cancel func(), done <-chan struct{}, stderr io.Writer, exit func(), secondExits bool) {
	select {
	case <-signals:
		cancel()
	case <-done:
		return
	}
	t := time.NewTimer(graceAfterSignal)
	defer t.Stop()
	for {
		select {
		case <-done:
			return
		case <-signals:
			if !secondExits {
				continue
			}
			fmt.Fprintln(stderr, "dogpile: interrupted again; exiting at once")
		case <-t.C:
			fmt.Fprintf(stderr, "dogpile: interrupted, and still not stopped after %s; exiting\n", graceAfterSignal)
		}
		exit()
		return
	}
}

// Run runs one command line (without the program name) and returns its exit
// status: 0 done, 1 a "no" answer (key not found, lock held), 2 an error
// (reported on Stderr as one line starting with "dogpile: "), 130
// interrupted. It never panics.
func (a *App) Run(ctx context.Context, args []string) (code int) {
	stderr := a.stderr()
	defer func() {
		if p := recover(); p != nil {
			fmt.Fprintf(stderr, "dogpile: internal error: %v (please report it)\n", oneLine(fmt.Sprint(p)))
			if os.Getenv("DOGPILE_DEBUG") != "" {
				stderr.Write(debug.Stack())
			}
			code = ExitError
		}
	}()
	root := a.newRoot()
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return ExitOK
	}
	var ee *exitError
	if !errors.As(err, &ee) {
		if ctx.Err() != nil && errors.Is(err, ctx.Err()) {
			ee = &exitError{code: ExitInterrupted, msg: "interrupted"}
		} else {
			// Errors from cobra itself: unknown command, bad flag, ...
			ee = &exitError{code: ExitError, msg: oneLine(err.Error()) + " (see 'dogpile --help')"}
		}
	}
	if ee.msg != "" {
		fmt.Fprintf(stderr, "dogpile: %s\n", ee.msg)
	}
	return ee.code
}

// Close closes the regions the App opened.
func (a *App) Close() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	var errs []error
	for k, r := range a.regions {
		errs = append(errs, r.Close())
		delete(a.regions, k)
	}
	return errors.Join(errs...)
}

func (a *App) stdout() io.Writer {
	if a.Stdout == nil {
		return io.Discard
	}
	return a.Stdout
}

func (a *App) stderr() io.Writer {
	if a.Stderr == nil {
		return io.Discard
	}
	return a.Stderr
}

func (a *App) stdin() io.Reader {
	if a.Stdin == nil {
		return eofReader{}
	}
	return a.Stdin
}

type quietLogger struct{}

func (quietLogger) Printf(context.Context, string, ...any) {}

type eofReader struct{}

func (eofReader) Read([]byte) (int, error) { return 0, io.EOF }

func (a *App) stderrIsTerminal() bool {
	if a.StderrIsTerminal != nil {
		return a.StderrIsTerminal()
	}
	f, ok := a.Stderr.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// region returns the region for a store, opening it on first use.
func (a *App) region(sc *storeConfig) (*region.Region, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	key := sc.fingerprint()
	if r, ok := a.regions[key]; ok {
		return r, nil
	}
	stderr := a.stderr()
	r, err := openRegion(sc, func(ctx context.Context, key string, err error) {
		if recordCorrupt(ctx, err) {
			return // the command explains it (get: "not a dogpile value")
		}
		fmt.Fprintf(stderr, "dogpile: warning: key %q: %s\n", key, oneLine(err.Error()))
	})
	if err != nil {
		return nil, err
	}
	if a.regions == nil {
		a.regions = map[string]*region.Region{}
	}
	a.regions[key] = r
	return r, nil
}

func (a *App) lockRegistry() *lockmutex.Registry {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.locks == nil {
		a.locks = lockmutex.NewRegistry()
	}
	return a.locks
}

const rootLong = `dogpile is the command of dogpile-go, a Go port of Python's dogpile.cache
regions and Keystone's KVS.

  dogpile bench                 a cache stampede, side by side: plain cache-aside,
                                eko/gocache's loadable cache, region.GetOrCreate
                                and region.GetOrCreate with an async runner
  dogpile get|set|delete KEY    read and write a configured store (values as JSON)
  dogpile lock KEY              take the dogpile lock of a key and report
  dogpile backends              the registered backends and their arguments
  dogpile config check FILE     the region each section of FILE builds, and
                                every option it ignores or refuses
  dogpile completion SHELL      a completion script for bash, zsh, fish or powershell

The store is chosen by an INI file section (--config FILE --section NAME), or
by --backend and --arg; without them it is the in-process memory backend.
A keystone.conf is read unchanged: its [cache] section by oslo.cache's rules
(enabled, backend = oslo_cache.memcache_pool, memcache_servers, ...; see
docs/oslo-cache.md). Other sections use dogpile.cache's keys:

  [cache]
  backend = memcached
  expiration_time = 600
  arguments.url = 127.0.0.1:11211

--arg adds or replaces an argument over either kind of section. --backend
replaces the backend of a dogpile.cache-style section (its arguments,
expiration_time and wrap stay) but is refused with a keystone.conf [cache]
section, whose arguments oslo.cache builds for the file's own backend.

Exit status: 0 done, 1 no (key not found or expired, lock held), 2 error,
3 present but not a dogpile value (get), 130 interrupted.`

func (a *App) newRoot() *cobra.Command {
	var sf storeFlags
	root := &cobra.Command{
		Use:           "dogpile",
		Short:         "Stampede benchmark and store tool for dogpile-go",
		Long:          rootLong,
		SilenceErrors: true,
		SilenceUsage:  true,
		Args:          cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return cmd.Help()
		},
	}
	root.Version = version()
	root.SetVersionTemplate("dogpile {{.Version}}\n")
	root.SetOut(a.stdout())
	root.SetErr(a.stderr())
	root.SetIn(a.stdin())
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return userErrorf("%v (see '%s --help')", err, c.CommandPath())
	})
	// `dogpile completion bash|zsh|fish|powershell` is listed in the help.
	root.CompletionOptions.HiddenDefaultCmd = false
	root.SetHelpCommand(a.helpCmd())
	pf := root.PersistentFlags()
	pf.StringVarP(&sf.config, "config", "c", "", "INI `file` with the store's section")
	pf.StringVarP(&sf.section, "section", "s", "", "section of the INI file (default \"cache\")")
	pf.StringVar(&sf.prefix, "prefix", "", `key prefix inside the section, e.g. "cache." for cache.backend = ...`)
	pf.StringVarP(&sf.backend, "backend", "b", "", "backend `name` (see 'dogpile backends'), over a dogpile.cache-style section's; refused with a keystone.conf [cache] section")
	pf.StringArrayVarP(&sf.args, "arg", "a", nil, "backend argument `name=value`, over the file's (repeatable)")

	root.PersistentPreRunE = func(cmd *cobra.Command, _ []string) error {
		return refuseUnusedStoreFlags(cmd)
	}

	root.AddCommand(
		usesStoreFlags(a.benchCmd(&sf), storeFlagNames...),
		a.benchWorkerCmd(),
		usesStoreFlags(a.getCmd(&sf), storeFlagNames...),
		usesStoreFlags(a.setCmd(&sf), storeFlagNames...),
		usesStoreFlags(a.deleteCmd(&sf), storeFlagNames...),
		usesStoreFlags(a.lockCmd(&sf), storeFlagNames...),
		a.backendsCmd(),
		a.configCmd(&sf),
	)
	// Cobra adds the completion command when the command runs; add it
	// now so that its flags can be completed too.
	root.InitDefaultCompletionCmd()
	registerCompletions(root)
	return root
}

// storeFlagNames are the root's flags that choose the store.
var storeFlagNames = []string{"config", "section", "prefix", "backend", "arg"}

// storeFlagsAnnotation lists, in a command's annotations, the store flags
// it reads (space-separated).
const storeFlagsAnnotation = "dogpile-store-flags"

// usesStoreFlags marks cmd as reading the named store flags.
func usesStoreFlags(cmd *cobra.Command, names ...string) *cobra.Command {
	if cmd.Annotations == nil {
		cmd.Annotations = map[string]string{}
	}
	cmd.Annotations[storeFlagsAnnotation] = strings.Join(names, " ")
	return cmd
}

// refuseUnusedStoreFlags refuses a store flag given to a command that does
// not read it (backends, config check's --backend, ...), so that a setting
// is never silently ignored.
func refuseUnusedStoreFlags(cmd *cobra.Command) error {
	used := strings.Fields(cmd.Annotations[storeFlagsAnnotation])
	for _, name := range storeFlagNames {
		f := cmd.Flags().Lookup(name)
		if f == nil || !f.Changed || slices.Contains(used, name) {
			continue
		}
		what := "the store of get, set, delete, lock and bench"
		if len(used) > 0 {
			what = "reads only " + strings.Join(prefixAll("--", used), ", ")
			return userErrorf("%s does not use --%s: it %s (see '%s --help')", cmd.CommandPath(), name, what, cmd.CommandPath())
		}
		return userErrorf("%s does not use --%s, which chooses %s (see '%s --help')", cmd.CommandPath(), name, what, cmd.CommandPath())
	}
	return nil
}

// prefixAll returns each of names with prefix in front.
func prefixAll(prefix string, names []string) []string {
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = prefix + n
	}
	return out
}

// version is the module version the command was built from ("devel" for
// a build from a work tree).
func version() string {
	if info, ok := debug.ReadBuildInfo(); ok && info.Main.Version != "" && info.Main.Version != "(devel)" {
		return info.Main.Version
	}
	return "devel"
}

// exactArgs is cobra.ExactArgs with a message naming what is missing.
func exactArgs(names ...string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) == len(names) {
			return nil
		}
		want := ""
		for _, n := range names {
			want += " " + n
		}
		return userErrorf("usage: %s%s (got %d arguments; see '%s --help')", cmd.CommandPath(), want, len(args), cmd.CommandPath())
	}
}
