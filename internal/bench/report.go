package bench

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// JSON forms of Report and Result: durations in integer nanoseconds (the
// fields end in _ns), rates and ratios computed.
type reportJSON struct {
	Workload    workloadJSON `json:"workload"`
	Backend     string       `json:"backend"`
	Procs       int          `json:"procs"`
	RunID       string       `json:"run_id"`
	Complete    bool         `json:"complete"`
	Interrupted bool         `json:"interrupted"`
	Failure     *failureJSON `json:"failure,omitempty"`
	Results     []resultJSON `json:"results"`
}

type failureJSON struct {
	Strategy Strategy `json:"strategy"`
	Error    string   `json:"error"`
}

type workloadJSON struct {
	Goroutines       int     `json:"goroutines"`
	Keys             int     `json:"keys"`
	ZipfS            float64 `json:"zipf_s"`
	CreatorLatencyNS int64   `json:"creator_latency_ns"`
	ExpirationNS     int64   `json:"expiration_ns"`
	DurationNS       int64   `json:"duration_ns"`
	ThinkNS          int64   `json:"think_ns"`
}

type resultJSON struct {
	Strategy             Strategy `json:"strategy"`
	Label                string   `json:"label"`
	Store                string   `json:"store"`
	Description          string   `json:"description"`
	Procs                int      `json:"procs"`
	Partial              bool     `json:"partial"`
	Requests             uint64   `json:"requests"`
	ElapsedNS            int64    `json:"elapsed_ns"`
	RequestsPerSec       float64  `json:"requests_per_sec"`
	CreatorCalls         uint64   `json:"creator_calls"`
	CreatorCallsByWindow []uint64 `json:"creator_calls_by_window"`
	KeysTouched          int      `json:"keys_touched"`
	ExpiryWindows        float64  `json:"expiry_windows"`
	CallsPerKeyWindow    float64  `json:"creator_calls_per_key_window"`
	MaxCallsInKeyWindow  uint64   `json:"max_creator_calls_in_a_key_window"`
	StaleServed          uint64   `json:"stale_served"`
	Errors               uint64   `json:"errors"`
	FirstError           string   `json:"first_error,omitempty"`
	P50NS                int64    `json:"p50_ns"`
	P90NS                int64    `json:"p90_ns"`
	P99NS                int64    `json:"p99_ns"`
	P999NS               int64    `json:"p999_ns"`
	MaxNS                int64    `json:"max_ns"`
	MeanNS               int64    `json:"mean_ns"`
}

func round(f float64, places int) float64 {
	p := math.Pow(10, float64(places))
	return math.Round(f*p) / p
}

// MarshalJSON writes the report with durations in integer nanoseconds and
// each result's rates and ratios.
func (r *Report) MarshalJSON() ([]byte, error) {
	out := reportJSON{
		Workload: workloadJSON{
			Goroutines:       r.Workload.Goroutines,
			Keys:             r.Workload.Keys,
			ZipfS:            r.Workload.ZipfS,
			CreatorLatencyNS: int64(r.Workload.CreatorLatency),
			ExpirationNS:     int64(r.Workload.Expiration),
			DurationNS:       int64(r.Workload.Duration),
			ThinkNS:          int64(r.Workload.Think),
		},
		Backend:     r.Backend,
		Procs:       r.Procs,
		RunID:       r.RunID,
		Complete:    r.Complete(),
		Interrupted: r.Interrupted,
		Results:     []resultJSON{},
	}
	if r.Failure != nil {
		out.Failure = &failureJSON{Strategy: r.Failure.Strategy, Error: oneLine(r.Failure.Err.Error())}
	}
	for _, res := range r.Results {
		byWindow := res.CreatorCallsByWindow
		if byWindow == nil {
			byWindow = []uint64{}
		}
		out.Results = append(out.Results, resultJSON{
			Strategy:             res.Strategy,
			Label:                res.Label(),
			Store:                res.Store,
			Description:          res.Strategy.Description(),
			Procs:                res.Procs,
			Partial:              res.Partial,
			Requests:             res.Requests,
			ElapsedNS:            int64(res.Elapsed),
			RequestsPerSec:       round(res.RequestsPerSecond(), 1),
			CreatorCalls:         res.CreatorCalls,
			CreatorCallsByWindow: byWindow,
			KeysTouched:          res.KeysTouched,
			ExpiryWindows:        round(res.Windows(r.Workload), 3),
			CallsPerKeyWindow:    round(res.CallsPerKeyWindow(r.Workload), 3),
			MaxCallsInKeyWindow:  res.MaxCallsInKeyWindow,
			StaleServed:          res.StaleServed,
			Errors:               res.Errors,
			FirstError:           res.FirstError,
			P50NS:                int64(res.P50),
			P90NS:                int64(res.P90),
			P99NS:                int64(res.P99),
			P999NS:               int64(res.P999),
			MaxNS:                int64(res.Max),
			MeanNS:               int64(res.Mean),
		})
	}
	return json.Marshal(out)
}

// oneLine folds a message onto one line.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

// WriteJSON writes the report as indented JSON.
func (r *Report) WriteJSON(w io.Writer) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	_, err = w.Write(append(b, '\n'))
	return err
}

// WriteTable writes the report as a table, one row per strategy, with a
// heading that states the workload and a legend of the columns. A report
// of a run that ended early says so under the table, and marks the row of
// a strategy that was stopped before its end.
func (r *Report) WriteTable(w io.Writer) error {
	wl := r.Workload
	procs := "1 process"
	if r.Procs > 1 {
		procs = fmt.Sprintf("%d processes", r.Procs)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "dogpile bench: %d goroutines x %s (think %s), %d hot keys (zipf s=%g), creator %s, expiration %s, %s per strategy\n",
		wl.Goroutines, procs, FormatDuration(wl.Think), wl.Keys, wl.ZipfS, FormatDuration(wl.CreatorLatency), FormatDuration(wl.Expiration), FormatDuration(wl.Duration))
	fmt.Fprintf(&b, "region strategies on backend %q; in parentheses, the store each strategy ran on\n\n", r.Backend)
	rows := [][]string{{"strategy", "requests/s", "creator calls", "calls/key/window", "stale served", "p50", "p99", "max", "errors"}}
	partial := false
	for _, res := range r.Results {
		label := res.Label()
		if res.Partial {
			label += " *"
			partial = true
		}
		rows = append(rows, []string{
			label,
			thousands(uint64(math.Round(res.RequestsPerSecond()))),
			thousands(res.CreatorCalls),
			strconv.FormatFloat(res.CallsPerKeyWindow(wl), 'f', 2, 64),
			thousands(res.StaleServed),
			FormatLatency(res.P50), FormatLatency(res.P99), FormatLatency(res.Max),
			thousands(res.Errors),
		})
	}
	if len(r.Results) == 0 {
		b.WriteString("(no strategy was measured)\n")
	} else {
		writeColumns(&b, rows)
	}
	table := b.String()
	var legend strings.Builder
	fmt.Fprintf(&legend, "\ncalls/key/window: creator calls per key per %s expiry window; 1.00 is one regeneration per expiry.\n", FormatDuration(wl.Expiration))
	fmt.Fprint(&legend, "stale served: values returned after their expiration while one caller or a background job regenerated.\n")
	for _, res := range r.Results {
		if res.FirstError != "" {
			fmt.Fprintf(&legend, "first error of %s: %s\n", res.Strategy, oneLine(res.FirstError))
		}
	}
	if partial {
		for _, res := range r.Results {
			if res.Partial {
				fmt.Fprintf(&legend, "* %s was stopped after %s of %s: its numbers are those so far.\n",
					res.Strategy, FormatDuration(res.Elapsed.Round(time.Millisecond)), FormatDuration(wl.Duration))
			}
		}
	}
	if r.Failure != nil {
		fmt.Fprintf(&legend, "FAILED: strategy %s: %s\n", r.Failure.Strategy, oneLine(r.Failure.Err.Error()))
	}
	if r.Interrupted {
		fmt.Fprint(&legend, "INTERRUPTED: the results above are those measured so far.")
		if notRun := r.NotRun(); len(notRun) > 0 {
			fmt.Fprintf(&legend, " Not run: %s.", joinStrategies(notRun))
		}
		legend.WriteByte('\n')
	} else if r.Failure != nil {
		notRun := slices.DeleteFunc(r.NotRun(), func(s Strategy) bool { return s == r.Failure.Strategy })
		if len(notRun) > 0 {
			fmt.Fprintf(&legend, "Not run: %s.\n", joinStrategies(notRun))
		}
	}
	_, err := io.WriteString(w, table+legend.String())
	return err
}

// writeColumns writes rows as columns two spaces apart: the first column
// aligned left, the others right.
func writeColumns(b *strings.Builder, rows [][]string) {
	var widths []int
	for _, row := range rows {
		for i, cell := range row {
			if i >= len(widths) {
				widths = append(widths, 0)
			}
			widths[i] = max(widths[i], utf8.RuneCountInString(cell))
		}
	}
	for _, row := range rows {
		for i, cell := range row {
			pad := strings.Repeat(" ", widths[i]-utf8.RuneCountInString(cell))
			switch {
			case i == 0:
				b.WriteString(cell + pad)
			default:
				b.WriteString("  " + pad + cell)
			}
		}
		b.WriteByte('\n')
	}
}

// FormatLatency shows a latency with three significant digits in a fitting
// unit (ns, µs, ms, s).
func FormatLatency(d time.Duration) string {
	switch {
	case d < time.Microsecond:
		return strconv.FormatInt(int64(d), 10) + "ns"
	case d < time.Millisecond:
		return sig3(float64(d)/1e3) + "µs"
	case d < time.Second:
		return sig3(float64(d)/1e6) + "ms"
	}
	return sig3(d.Seconds()) + "s"
}

func sig3(f float64) string {
	switch {
	case f >= 100:
		return strconv.FormatFloat(f, 'f', 0, 64)
	case f >= 10:
		return strconv.FormatFloat(f, 'f', 1, 64)
	}
	return strconv.FormatFloat(f, 'f', 2, 64)
}

func thousands(n uint64) string {
	s := strconv.FormatUint(n, 10)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

func joinStrategies(list []Strategy) string {
	names := make([]string, len(list))
	for i, s := range list {
		names[i] = string(s)
	}
	return strings.Join(names, ", ")
}
