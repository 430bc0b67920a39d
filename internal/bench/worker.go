package bench

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"time"
)

// wireWorkloadT is Workload as sent to worker processes.
type wireWorkloadT struct {
	Goroutines       int     `json:"goroutines"`
	Keys             int     `json:"keys"`
	ZipfS            float64 `json:"zipf_s"`
	CreatorLatencyNS int64   `json:"creator_latency_ns"`
	ExpirationNS     int64   `json:"expiration_ns"`
	DurationNS       int64   `json:"duration_ns"`
	ThinkNS          int64   `json:"think_ns"`
}

func wireWorkload(w Workload) wireWorkloadT {
	return wireWorkloadT{w.Goroutines, w.Keys, w.ZipfS, int64(w.CreatorLatency), int64(w.Expiration), int64(w.Duration), int64(w.Think)}
}

func (w wireWorkloadT) workload() Workload {
	return Workload{
		Goroutines:     w.Goroutines,
		Keys:           w.Keys,
		ZipfS:          w.ZipfS,
		CreatorLatency: time.Duration(w.CreatorLatencyNS),
		Expiration:     time.Duration(w.ExpirationNS),
		Duration:       time.Duration(w.DurationNS),
		Think:          time.Duration(w.ThinkNS),
	}
}

// workerSpec is what a worker runs: the first line on its standard input.
type workerSpec struct {
	Workload wireWorkloadT `json:"workload"`
	Strategy Strategy      `json:"strategy"`
	Backend  Backend       `json:"backend"`
	RunID    string        `json:"run_id"`
	Proc     int           `json:"proc"`
}

// workerMsg is a line a worker writes: ready, then its stats or an error.
type workerMsg struct {
	Ready bool   `json:"ready,omitempty"`
	Error string `json:"error,omitempty"`
	Stats *stats `json:"stats,omitempty"`
}

// startMsg tells a ready worker to start: the common start time.
type startMsg struct {
	StartUnixNano int64 `json:"start_unix_nano"`
}

type windowCount struct {
	Key    int    `json:"key"`
	Window int    `json:"window"`
	Calls  uint64 `json:"calls"`
}

// stats are one process's counts for one strategy.
type stats struct {
	Requests  uint64 `json:"requests"`
	ElapsedNS int64  `json:"elapsed_ns"`
	// StartOffsetNS is when the callers started, after the common start.
	StartOffsetNS int64 `json:"start_offset_ns"`
	// Interrupted: the run ended early (the counts are those so far);
	// Abandoned callers were stuck in a server call and are not counted.
	Interrupted  bool          `json:"interrupted,omitempty"`
	Abandoned    int           `json:"abandoned,omitempty"`
	CreatorCalls uint64        `json:"creator_calls"`
	Stale        uint64        `json:"stale"`
	Errors       uint64        `json:"errors"`
	FirstError   string        `json:"first_error,omitempty"`
	Touched      []int         `json:"touched"` // keys asked for at least once
	Windows      []windowCount `json:"windows"`
	Hist         sparse        `json:"hist"`
}

func (st *stats) add(o *stats) {
	st.Requests += o.Requests
	st.ElapsedNS = max(st.ElapsedNS, o.ElapsedNS)
	st.StartOffsetNS = max(st.StartOffsetNS, o.StartOffsetNS)
	st.Interrupted = st.Interrupted || o.Interrupted
	st.Abandoned += o.Abandoned
	st.CreatorCalls += o.CreatorCalls
	st.Stale += o.Stale
	st.Errors += o.Errors
	if st.FirstError == "" {
		st.FirstError = o.FirstError
	}
	st.Touched = append(st.Touched, o.Touched...)
	st.Windows = append(st.Windows, o.Windows...)
	var h histogram
	h.mergeSparse(st.Hist)
	h.mergeSparse(o.Hist)
	st.Hist = h.sparse()
}

// result turns the counts into a strategy's Result. store says what the
// strategy ran on.
func (st *stats) result(s Strategy, store string, procs int, w Workload) Result {
	var h histogram
	h.mergeSparse(st.Hist)
	res := Result{
		Strategy:     s,
		Store:        store,
		Procs:        procs,
		Partial:      st.Interrupted,
		Requests:     st.Requests,
		Elapsed:      time.Duration(st.ElapsedNS),
		CreatorCalls: st.CreatorCalls,
		StaleServed:  st.Stale,
		Errors:       st.Errors,
		FirstError:   st.FirstError,
		P50:          h.quantile(0.50),
		P90:          h.quantile(0.90),
		P99:          h.quantile(0.99),
		P999:         h.quantile(0.999),
		Max:          time.Duration(h.max),
		Mean:         h.mean(),
	}
	touched := map[int]bool{}
	for _, k := range st.Touched {
		touched[k] = true
	}
	res.KeysTouched = len(touched)
	perWindow := map[keyWindow]uint64{}
	for _, wc := range st.Windows {
		kw := keyWindow{wc.Key, wc.Window}
		perWindow[kw] += wc.Calls
		res.MaxCallsInKeyWindow = max(res.MaxCallsInKeyWindow, perWindow[kw])
		if wc.Window >= 0 && wc.Window < maxWindows {
			for len(res.CreatorCallsByWindow) <= wc.Window {
				res.CreatorCallsByWindow = append(res.CreatorCallsByWindow, 0)
			}
			res.CreatorCallsByWindow[wc.Window] += wc.Calls
		}
	}
	return res
}

// maxWindows bounds Result.CreatorCallsByWindow (a run of an hour with an
// expiration of a millisecond has 3.6 million windows).
const maxWindows = 100_000

// RunWorker is the worker side of Options.Procs: it reads a strategy and
// workload from in, sets the strategy up, says it is ready, waits for the
// start signal, runs, and writes its counts to out (one JSON object per
// line). A program offers it as a hidden subcommand for WorkerCommand.
func RunWorker(ctx context.Context, in io.Reader, out io.Writer) error {
	rd := bufio.NewReader(in)
	enc := json.NewEncoder(out)
	fail := func(err error) error {
		_ = enc.Encode(workerMsg{Error: err.Error()})
		return err
	}
	line, err := rd.ReadBytes('\n')
	if err != nil {
		return fail(fmt.Errorf("reading the worker spec: %w", err))
	}
	var spec workerSpec
	if err := json.Unmarshal(line, &spec); err != nil {
		return fail(fmt.Errorf("bad worker spec: %w", err))
	}
	r, err := newRunner(ctx, spec, spec.Proc)
	if err != nil {
		return fail(err)
	}
	defer r.close()
	if err := enc.Encode(workerMsg{Ready: true}); err != nil {
		return err
	}
	if line, err = rd.ReadBytes('\n'); err != nil {
		return fmt.Errorf("waiting for the start signal: %w", err)
	}
	var sm startMsg
	if err := json.Unmarshal(line, &sm); err != nil {
		return fail(fmt.Errorf("bad start signal: %w", err))
	}
	// Interrupted (SIGINT from the parent or the terminal), the worker
	// still reports its counts so far.
	st := r.run(ctx, time.Unix(0, sm.StartUnixNano))
	return enc.Encode(workerMsg{Stats: st})
}

// errWorker marks a worker process that stopped without saying why.
var errWorker = errors.New("worker process failed")

// worker is the parent's handle on one worker process.
type worker struct {
	cmd    *exec.Cmd
	in     io.WriteCloser
	out    *bufio.Reader
	stderr *tailBuffer
}

func (w *worker) read() (workerMsg, error) {
	var m workerMsg
	line, err := w.out.ReadBytes('\n')
	if err != nil {
		return m, w.failure(err)
	}
	if err := json.Unmarshal(line, &m); err != nil {
		return m, fmt.Errorf("worker sent %q: %w", bytes.TrimSpace(line), err)
	}
	if m.Error != "" {
		return m, errors.New(m.Error)
	}
	return m, nil
}

// failure explains a worker that stopped talking: its last stderr line,
// else how it ended.
func (w *worker) failure(err error) error {
	werr := w.cmd.Wait()
	if last := w.stderr.lastLine(); last != "" {
		return errors.New(last)
	}
	if werr != nil {
		return fmt.Errorf("%w: %v", errWorker, werr)
	}
	return fmt.Errorf("%w: %v", errWorker, err)
}

// runProcs runs one strategy in procs worker processes and sums their
// counts. When parent ends, or a worker fails, the other workers are
// interrupted (SIGINT) and report their counts so far: runProcs then
// returns those (marked Interrupted) with the error. stats is nil only
// when no worker reported.
func runProcs(parent context.Context, spec workerSpec, procs int, newCmd func(context.Context) *exec.Cmd, p Progress) (*stats, error) {
	ctx, cancel := context.WithCancel(parent)
	defer cancel()
	workers := make([]*worker, 0, procs)
	defer func() {
		cancel() // interrupts the workers still running (see interruptWorker)
		for _, w := range workers {
			if w.in != nil {
				_ = w.in.Close()
			}
			_ = w.cmd.Wait() // after their counts, workers exit by themselves
		}
	}()
	for i := range procs {
		cmd := newCmd(ctx)
		w := &worker{cmd: cmd, stderr: &tailBuffer{}}
		cmd.Stderr = w.stderr
		interruptWorker(cmd)
		in, err := cmd.StdinPipe()
		if err != nil {
			return nil, err
		}
		out, err := cmd.StdoutPipe()
		if err != nil {
			return nil, err
		}
		if err := cmd.Start(); err != nil {
			return nil, fmt.Errorf("starting worker process %d: %w", i, err)
		}
		w.in, w.out = in, bufio.NewReader(out)
		workers = append(workers, w) // from here on, the deferred cleanup waits for it
		s := spec
		s.Proc = i
		if err := json.NewEncoder(in).Encode(s); err != nil {
			return nil, fmt.Errorf("worker process %d: %w", i, w.failure(err))
		}
	}
	type reply struct {
		m   workerMsg
		err error
	}
	// Each worker is read by its own goroutine, so that an interrupted
	// setup (a worker still connecting to a hung server) does not hold the
	// parent.
	ready := make(chan reply, len(workers))
	for i, w := range workers {
		go func() {
			m, err := w.read()
			if err != nil {
				err = fmt.Errorf("worker process %d: %w", i, err)
			}
			ready <- reply{m, err}
		}()
	}
	for range workers {
		select {
		case r := <-ready:
			if r.err != nil {
				return nil, r.err
			}
		case <-parent.Done():
			return nil, parent.Err()
		}
	}
	start := startMsg{StartUnixNano: time.Now().UnixNano()}
	for i, w := range workers {
		if err := json.NewEncoder(w.in).Encode(start); err != nil {
			return nil, fmt.Errorf("worker process %d: %w", i, w.failure(err))
		}
	}
	began := time.Now()
	replies := make(chan reply, len(workers))
	for i, w := range workers {
		go func() {
			m, err := w.read()
			if err == nil && m.Stats == nil {
				err = fmt.Errorf("%w: no counts", errWorker)
			}
			if err != nil {
				err = fmt.Errorf("worker process %d: %w", i, err)
			}
			replies <- reply{m, err}
		}()
	}
	var total *stats
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	var firstErr error
	parentDone := parent.Done()
	var giveUp <-chan time.Time
	got := 0
collect:
	for got < len(workers) {
		select {
		case r := <-replies:
			got++
			if r.err != nil && firstErr == nil {
				firstErr = r.err
				cancel() // the others stop and report what they have
				giveUp = giveUpTimer()
			}
			if r.m.Stats != nil {
				if total == nil {
					total = &stats{}
				}
				total.add(r.m.Stats)
			}
		case <-parentDone:
			parentDone = nil
			if giveUp == nil {
				giveUp = giveUpTimer()
			}
		case <-giveUp:
			break collect
		case <-tick.C:
			if p != nil {
				p.Update(time.Since(began))
			}
		}
	}
	if total != nil && got < len(workers) {
		total.Interrupted = true
	}
	if err := parent.Err(); err != nil {
		if total != nil {
			total.Interrupted = true
		}
		return total, err
	}
	if firstErr != nil {
		if total != nil {
			total.Interrupted = true
		}
		return total, firstErr
	}
	return total, nil
}

// workerReportWait is how long the parent waits for the counts of
// interrupted workers.
const workerReportWait = abandonAfter + time.Second

func giveUpTimer() <-chan time.Time { return time.After(workerReportWait) }

// interruptWorker makes the end of the command's context interrupt the
// worker (SIGINT: it reports its counts so far and exits) rather than kill
// it, and kill it if it has not exited soon after.
func interruptWorker(cmd *exec.Cmd) {
	cmd.Cancel = func() error {
		if runtime.GOOS == "windows" {
			return cmd.Process.Kill()
		}
		return cmd.Process.Signal(os.Interrupt)
	}
	if cmd.WaitDelay == 0 {
		cmd.WaitDelay = workerReportWait
	}
}

// tailBuffer keeps the last few KiB a worker wrote to its standard error.
type tailBuffer struct {
	mu  sync.Mutex
	buf []byte
}

const tailMax = 4096

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if len(t.buf) > tailMax {
		t.buf = append([]byte(nil), t.buf[len(t.buf)-tailMax:]...)
	}
	return len(p), nil
}

func (t *tailBuffer) lastLine() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	lines := strings.Split(strings.TrimSpace(string(t.buf)), "\n")
	return strings.TrimSpace(lines[len(lines)-1])
}
