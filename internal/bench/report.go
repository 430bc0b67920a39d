package bench

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// JSON forms of Report and Result: durations in milliseconds, rates and
// ratios computed.
type reportJSON struct {
	Workload workloadJSON `json:"workload"`
	Backend  string       `json:"backend"`
	Procs    int          `json:"procs"`
	RunID    string       `json:"run_id"`
	Results  []resultJSON `json:"results"`
}

type workloadJSON struct {
	Goroutines       int     `json:"goroutines"`
	Keys             int     `json:"keys"`
	ZipfS            float64 `json:"zipf_s"`
	CreatorLatencyMS float64 `json:"creator_latency_ms"`
	ExpirationMS     float64 `json:"expiration_ms"`
	DurationMS       float64 `json:"duration_ms"`
	ThinkMS          float64 `json:"think_ms"`
}

type resultJSON struct {
	Strategy            Strategy    `json:"strategy"`
	Label               string      `json:"label"`
	Store               StoreKind   `json:"store"`
	Description         string      `json:"description"`
	Procs               int         `json:"procs"`
	Requests            uint64      `json:"requests"`
	ElapsedMS           float64     `json:"elapsed_ms"`
	RequestsPerSec      float64     `json:"requests_per_sec"`
	CreatorCalls        uint64      `json:"creator_calls"`
	KeysTouched         int         `json:"keys_touched"`
	ExpiryWindows       float64     `json:"expiry_windows"`
	CallsPerKeyWindow   float64     `json:"creator_calls_per_key_window"`
	MaxCallsInKeyWindow uint64      `json:"max_creator_calls_in_a_key_window"`
	StaleServed         uint64      `json:"stale_served"`
	Errors              uint64      `json:"errors"`
	FirstError          string      `json:"first_error,omitempty"`
	LatencyMS           latencyJSON `json:"latency_ms"`
}

type latencyJSON struct {
	P50  float64 `json:"p50"`
	P99  float64 `json:"p99"`
	Max  float64 `json:"max"`
	Mean float64 `json:"mean"`
}

func ms(d time.Duration) float64 { return round(float64(d)/float64(time.Millisecond), 3) }

func round(f float64, places int) float64 {
	p := math.Pow(10, float64(places))
	return math.Round(f*p) / p
}

// MarshalJSON writes the report with durations in milliseconds and each
// result's rates and ratios.
func (r *Report) MarshalJSON() ([]byte, error) {
	out := reportJSON{
		Workload: workloadJSON{
			Goroutines:       r.Workload.Goroutines,
			Keys:             r.Workload.Keys,
			ZipfS:            r.Workload.ZipfS,
			CreatorLatencyMS: ms(r.Workload.CreatorLatency),
			ExpirationMS:     ms(r.Workload.Expiration),
			DurationMS:       ms(r.Workload.Duration),
			ThinkMS:          ms(r.Workload.Think),
		},
		Backend: r.Backend,
		Procs:   r.Procs,
		RunID:   r.RunID,
		Results: []resultJSON{},
	}
	for _, res := range r.Results {
		out.Results = append(out.Results, resultJSON{
			Strategy:            res.Strategy,
			Label:               res.Label(),
			Store:               res.Store,
			Description:         res.Strategy.Description(),
			Procs:               res.Procs,
			Requests:            res.Requests,
			ElapsedMS:           ms(res.Elapsed),
			RequestsPerSec:      round(res.RequestsPerSecond(), 1),
			CreatorCalls:        res.CreatorCalls,
			KeysTouched:         res.KeysTouched,
			ExpiryWindows:       round(res.Windows(r.Workload), 3),
			CallsPerKeyWindow:   round(res.CallsPerKeyWindow(r.Workload), 3),
			MaxCallsInKeyWindow: res.MaxCallsInKeyWindow,
			StaleServed:         res.StaleServed,
			Errors:              res.Errors,
			FirstError:          res.FirstError,
			LatencyMS:           latencyJSON{ms(res.P50), ms(res.P99), ms(res.Max), ms(res.Mean)},
		})
	}
	return json.Marshal(out)
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
// heading that states the workload and a legend of the columns.
func (r *Report) WriteTable(w io.Writer) error {
	wl := r.Workload
	procs := "1 process"
	if r.Procs > 1 {
		procs = fmt.Sprintf("%d processes", r.Procs)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "dogpile bench: %d goroutines x %s (think %s), %d hot keys (zipf s=%g), creator %s, expiration %s, %s per strategy\n",
		wl.Goroutines, procs, wl.Think, wl.Keys, wl.ZipfS, wl.CreatorLatency, wl.Expiration, wl.Duration)
	fmt.Fprintf(&b, "region strategies on backend %q\n\n", r.Backend)
	rows := [][]string{{"strategy", "requests/s", "creator calls", "calls/key/window", "stale served", "p50", "p99", "max", "errors"}}
	for _, res := range r.Results {
		rows = append(rows, []string{
			res.Label(),
			thousands(uint64(math.Round(res.RequestsPerSecond()))),
			thousands(res.CreatorCalls),
			strconv.FormatFloat(res.CallsPerKeyWindow(wl), 'f', 2, 64),
			thousands(res.StaleServed),
			FormatLatency(res.P50), FormatLatency(res.P99), FormatLatency(res.Max),
			thousands(res.Errors),
		})
	}
	writeColumns(&b, rows)
	table := b.String()
	var legend strings.Builder
	fmt.Fprintf(&legend, "\ncalls/key/window: creator calls per key per %s expiry window; 1.00 is one regeneration per expiry.\n", wl.Expiration)
	fmt.Fprint(&legend, "stale served: values returned after their expiration while one caller or a background job regenerated.\n")
	for _, res := range r.Results {
		if res.FirstError != "" {
			fmt.Fprintf(&legend, "first error of %s: %s\n", res.Strategy, res.FirstError)
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
