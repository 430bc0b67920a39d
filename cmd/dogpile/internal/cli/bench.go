package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"

	"github.com/dogpile-go/dogpile/internal/bench"
	"github.com/dogpile-go/dogpile/internal/benchplot"
)

const benchLong = `Run a cache stampede side by side with four strategies on the same workload,
then print a table: requests/s, creator calls, creator calls per key per expiry
window (1.00 is ideal), stale values served, and p50/p99/max latency.

  cache-aside               a raw client: Get, then create and Set on a miss:
                            nothing stops every caller that misses from running
                            the creator
  gocache loadable          eko/gocache's LoadableCache: one load per key per
                            process, every caller waits for it
  region.GetOrCreate        the dogpile lock: one caller regenerates an expired
                            value, the others get the old value at once
  region.GetOrCreate+async  the same, and a background job regenerates while
                            everyone gets the old value

The region strategies run on the configured store (memory by default; see
--config, --backend). On memcached or Redis the two baselines run on the same
servers (raw gomemcache or go-redis, and eko/gocache's store over the same
client); with an in-process store, on go-cache. Each row names its store.
The workload's --expiration replaces the store's expiration_time. With
--procs N every strategy runs in N processes of this program at once and
their counts are summed: on memcached or Redis the region strategies still
create each key about once per expiry window in total.

Each strategy runs for --duration, so the whole run takes about four times it.
Ctrl-C stops it at once and prints the results so far (exit status 130).
--plot FILE.svg or FILE.png also draws creator calls per expiry window over
time and the latency percentiles of every strategy.`

func (a *App) benchCmd(sf *storeFlags) *cobra.Command {
	w := bench.DefaultWorkload()
	var (
		strategies string
		procs      int
		asJSON     bool
		progress   string
		plotFile   string
	)
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Run a cache stampede with four strategies and compare them",
		Long:  benchLong,
		Example: `  dogpile bench --duration 5s
  dogpile bench --json > result.json
  dogpile bench --duration 3s --plot bench.png
  dogpile bench --config examples/memcached.ini --procs 4 --strategies region,region-async`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := w.Validate(); err != nil {
				var we *bench.WorkloadError
				if errors.As(err, &we) {
					return userErrorf("bench --%s %s: out of range: want %s", we.Setting, we.Value, we.Allowed)
				}
				return userErrorf("bench: %v", err)
			}
			list, err := bench.ParseStrategies(strategies)
			if err != nil {
				return userErrorf("bench --strategies: %v", err)
			}
			if procs < 1 || procs > 64 {
				return userErrorf("bench --procs %d: want 1 to 64", procs)
			}
			showBar, err := a.wantProgress(progress)
			if err != nil {
				return err
			}
			if plotFile != "" {
				if _, err := benchplot.FormatOf(plotFile); err != nil {
					return userErrorf("bench --plot %s: %v", plotFile, err)
				}
			}
			sc, err := loadStore(*sf)
			if err != nil {
				return err
			}
			// A keystone.conf goes to worker processes by its path.
			backend := bench.Backend{Conf: sc.conf}
			if sc.oslo != nil {
				backend = bench.Backend{KeystoneConf: sc.osloFile, KeystoneArgs: sc.osloArgs}
			}
			if procs > 1 && sc.oslo == nil {
				if err := jsonableConf(sc.conf); err != nil {
					return userErrorf("bench --procs %d: the settings from %s cannot be passed to worker processes (%v); use --procs 1", procs, sc.source, err)
				}
			}
			// Fail early, and with the usual message, on an unknown
			// backend or bad arguments.
			r, err := openRegion(sc, nil)
			if err != nil {
				return err
			}
			_ = r.Close()
			if doc, known := docFor(sc.backend()); known && !doc.Shared && !doc.Refused && procs > 1 {
				fmt.Fprintf(a.stderr(), "dogpile: note: backend %s keeps values in each process: with --procs every process has its own cache and lock\n", sc.backend())
			}
			opts := bench.Options{
				Workload:   w,
				Strategies: list,
				Backend:    backend,
				Procs:      procs,
				WorkerCommand: func(ctx context.Context) *exec.Cmd {
					return exec.CommandContext(ctx, a.executable(), benchWorkerName)
				},
			}
			if showBar {
				opts.Progress = &barProgress{w: a.stderr()}
			}
			rep, runErr := bench.Run(cmd.Context(), opts)
			// What was measured is printed (and plotted) even when the run
			// ended early: interrupted, or a strategy that failed.
			if rep != nil && (runErr == nil || len(rep.Results) > 0 || rep.Interrupted || rep.Failure != nil) {
				var werr error
				if asJSON {
					werr = rep.WriteJSON(a.stdout())
				} else {
					werr = rep.WriteTable(a.stdout())
				}
				if werr != nil && runErr == nil {
					return userErrorf("bench: writing the results: %v", werr)
				}
			}
			if plotFile != "" && rep != nil && len(rep.Results) > 0 {
				if err := benchplot.WriteFile(plotFile, rep); err != nil && runErr == nil {
					return userErrorf("bench --plot %s: %v", plotFile, err)
				} else if err != nil {
					fmt.Fprintf(a.stderr(), "dogpile: warning: bench --plot %s: %v\n", plotFile, err)
				}
			}
			if runErr != nil {
				return explainBench(runErr, sc)
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.IntVarP(&w.Goroutines, "goroutines", "n", w.Goroutines, "concurrent callers per process (1 to 10000)")
	f.IntVarP(&w.Keys, "keys", "k", w.Keys, "hot keys (1 to 1000000)")
	f.Float64Var(&w.ZipfS, "zipf", w.ZipfS, "Zipf exponent of the keys' popularity (above 1, at most 100; larger is more skewed)")
	f.DurationVar(&w.CreatorLatency, "creator-latency", w.CreatorLatency, "time the creator takes to make a value (0s to 1m)")
	f.DurationVarP(&w.Expiration, "expiration", "e", w.Expiration, "time a value stays fresh (1ms to 1h)")
	f.DurationVarP(&w.Duration, "duration", "d", w.Duration, "time each strategy runs (100ms to 1h)")
	f.DurationVar(&w.Think, "think", w.Think, "pause of each caller between two requests (0s to 1m; 0: none, the callers then keep the CPUs busy)")
	f.StringVar(&strategies, "strategies", "all", "comma-separated strategies: cache-aside, loadable, region, region-async, all")
	f.IntVarP(&procs, "procs", "p", 1, "run every strategy in this many processes at once and sum their counts (1 to 64)")
	f.BoolVar(&asJSON, "json", false, "print the results as JSON")
	f.StringVar(&progress, "progress", "auto", "progress bar on stderr: auto (when stderr is a terminal), always, never")
	f.StringVar(&plotFile, "plot", "", "also draw the results into this `file` (.svg or .png): creator calls per expiry window over time, and latency percentiles")
	return cmd
}

// benchWorkerName is the hidden subcommand of the bench's worker processes.
const benchWorkerName = "bench-worker"

// benchWorkerCmd is the hidden worker side of `bench --procs`.
func (a *App) benchWorkerCmd() *cobra.Command {
	return &cobra.Command{
		Use:    benchWorkerName,
		Short:  "Worker process of bench --procs (reads its orders on stdin)",
		Hidden: true,
		Args:   cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			err := bench.RunWorker(cmd.Context(), a.stdin(), a.stdout())
			if err != nil {
				return explain(err, nil)
			}
			return nil
		},
	}
}

func (a *App) executable() string {
	if a.Executable != "" {
		return a.Executable
	}
	exe, err := os.Executable()
	if err != nil {
		return os.Args[0]
	}
	return exe
}

func (a *App) wantProgress(mode string) (bool, error) {
	switch mode {
	case "auto":
		return a.stderrIsTerminal(), nil
	case "always":
		return true, nil
	case "never":
		return false, nil
	}
	return false, userErrorf("bench --progress %q: want auto, always or never", mode)
}

// barProgress draws a progress bar per strategy on stderr.
type barProgress struct {
	w   io.Writer
	bar *progressbar.ProgressBar
	max int64
}

func (p *barProgress) Start(s bench.Strategy, index, count int, d time.Duration) {
	p.max = int64(d / time.Millisecond)
	p.bar = progressbar.NewOptions64(p.max,
		progressbar.OptionSetWriter(p.w),
		progressbar.OptionSetDescription(fmt.Sprintf("[%d/%d] %-24s", index+1, count, s.Label())),
		progressbar.OptionSetWidth(30),
		progressbar.OptionSetPredictTime(false),
		progressbar.OptionSetElapsedTime(true),
		progressbar.OptionThrottle(100*time.Millisecond),
		progressbar.OptionClearOnFinish(),
		progressbar.OptionSetRenderBlankState(true),
	)
}

func (p *barProgress) Update(elapsed time.Duration) {
	if p.bar != nil {
		_ = p.bar.Set64(min(int64(elapsed/time.Millisecond), p.max))
	}
}

func (p *barProgress) Finish() {
	if p.bar != nil {
		_ = p.bar.Finish()
		_ = p.bar.Clear()
		p.bar = nil
	}
}

// explainBench explains why a bench ended early: interrupted, or the
// strategy that failed and why.
func explainBench(err error, sc *storeConfig) error {
	if errors.Is(err, context.Canceled) {
		return &exitError{code: ExitInterrupted, msg: "interrupted; the results so far are above"}
	}
	var se *bench.StrategyError
	if errors.As(err, &se) {
		e := explain(se.Err, sc)
		var ee *exitError
		if errors.As(e, &ee) && ee.code != ExitInterrupted {
			return &exitError{code: ee.code, msg: fmt.Sprintf("bench stopped: strategy %s failed: %s", se.Strategy, ee.msg)}
		}
		return e
	}
	return explain(err, sc)
}

// errNotJSONable marks settings that cannot go to worker processes.
var errNotJSONable = errors.New("not representable in JSON")

// jsonableConf reports whether a store's settings survive the trip to
// `bench --procs` worker processes (plain values only).
func jsonableConf(conf map[string]any) error {
	for k, v := range conf {
		switch v.(type) {
		case string, bool, int, int64, float64, nil, []string, []any, map[string]any:
		default:
			return fmt.Errorf("%s (%T): %w", k, v, errNotJSONable)
		}
	}
	return nil
}
