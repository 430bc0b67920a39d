// Package benchplot draws the results of `dogpile bench` (a bench.Report)
// as a picture with gonum.org/v1/plot: per strategy, the creator calls in
// each expiry window over the run, and the latency percentiles.
package benchplot

import (
	"errors"
	"fmt"
	"image/color"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
	"gonum.org/v1/plot/vg/vgsvg"

	"github.com/dogpile-go/dogpile/internal/bench"
)

// Format is an image format Write can produce.
type Format string

// The formats, chosen by a file's extension.
const (
	SVG Format = "svg"
	PNG Format = "png"
)

// ErrFormat is returned for a file name whose extension is neither .svg
// nor .png.
var ErrFormat = errors.New("the picture's file name must end in .svg or .png")

// FormatOf returns the format a file name asks for by its extension.
func FormatOf(name string) (Format, error) {
	switch strings.ToLower(filepath.Ext(name)) {
	case ".svg":
		return SVG, nil
	case ".png":
		return PNG, nil
	}
	return "", fmt.Errorf("%w (got %q)", ErrFormat, name)
}

// Size of the picture.
const (
	width  = 10 * vg.Inch
	height = 9 * vg.Inch
	dpi    = 110
)

// percentiles are the latency points drawn, left to right.
var percentiles = []struct {
	label string
	of    func(bench.Result) time.Duration
}{
	{"p50", func(r bench.Result) time.Duration { return r.P50 }},
	{"p90", func(r bench.Result) time.Duration { return r.P90 }},
	{"p99", func(r bench.Result) time.Duration { return r.P99 }},
	{"p99.9", func(r bench.Result) time.Duration { return r.P999 }},
	{"max", func(r bench.Result) time.Duration { return r.Max }},
}

// WriteFile draws rep into the file name, as SVG or PNG by its extension.
// The file is written only when the picture could be drawn.
func WriteFile(name string, rep *bench.Report) error {
	format, err := FormatOf(name)
	if err != nil {
		return err
	}
	f, err := os.CreateTemp(filepath.Dir(name), ".dogpile-plot-*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	// A picture to share: readable by all, as os.Create would make it.
	if err := f.Chmod(0o644); err != nil {
		f.Close()
		return err
	}
	if err := Write(f, format, rep); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), name)
}

// Write draws rep as an image of the format into w: above, the creator
// calls per expiry window of each strategy over the run, with the ideal
// (one per key per window) dashed; below, each strategy's latency
// percentiles. Both use a logarithmic scale.
func Write(w io.Writer, format Format, rep *bench.Report) error {
	if len(rep.Results) == 0 {
		return errors.New("no strategy was measured: nothing to draw")
	}
	calls, err := callsPlot(rep)
	if err != nil {
		return err
	}
	lat, err := latencyPlot(rep)
	if err != nil {
		return err
	}
	var canvas vg.CanvasWriterTo
	switch format {
	case SVG:
		canvas = vgsvg.New(width, height)
	case PNG:
		canvas = vgimg.PngCanvas{Canvas: vgimg.NewWith(vgimg.UseWH(width, height), vgimg.UseDPI(dpi))}
	default:
		return fmt.Errorf("%w (got format %q)", ErrFormat, format)
	}
	dc := draw.New(canvas)
	// A white background (SVG and PNG are otherwise transparent).
	dc.SetColor(color.White)
	dc.Fill(dc.Rectangle.Path())
	tiles := draw.Tiles{Rows: 2, Cols: 1, PadTop: vg.Millimeter * 3, PadBottom: vg.Millimeter * 3,
		PadLeft: vg.Millimeter * 3, PadRight: vg.Millimeter * 5, PadY: vg.Millimeter * 8}
	canvases := plot.Align([][]*plot.Plot{{calls}, {lat}}, tiles, dc)
	calls.Draw(canvases[0][0])
	lat.Draw(canvases[1][0])
	_, err = canvas.WriteTo(w)
	return err
}

func label(r bench.Result) string {
	l := r.Label()
	if r.Partial {
		l += " (partial)"
	}
	return l
}

// fullWindows is how many expiry windows of the strategy's run to draw:
// the whole ones (the last window is usually cut short by the end of the
// run), at least one.
func fullWindows(r bench.Result, exp time.Duration) int {
	n := len(r.CreatorCallsByWindow)
	if exp > 0 {
		whole := int(r.Elapsed / exp)
		if whole >= 1 && whole < n {
			n = whole
		}
	}
	return n
}

// callsPlot draws the creator calls per expiry window over the run.
func callsPlot(rep *bench.Report) (*plot.Plot, error) {
	wl := rep.Workload
	p := plot.New()
	procs := "1 process"
	if rep.Procs > 1 {
		procs = fmt.Sprintf("%d processes", rep.Procs)
	}
	p.Title.Text = fmt.Sprintf("Creator calls per %s expiry window (%d goroutines x %s, %d hot keys, creator %s, backend %s)",
		bench.FormatDuration(wl.Expiration), wl.Goroutines, procs, wl.Keys, bench.FormatDuration(wl.CreatorLatency), rep.Backend)
	p.Title.TextStyle.Font.Size = vg.Points(11)
	p.X.Label.Text = "time since the strategy started (s)"
	p.Y.Label.Text = "creator calls in the window (log scale)"
	p.Y.Scale = plot.LogScale{}
	p.Y.Tick.Marker = countTicks{}
	p.Legend.Top = true
	p.Legend.Left = false
	p.Add(plotter.NewGrid())
	lo, hi := math.Inf(1), 0.0
	keys := 0
	longest := 0
	for i, r := range rep.Results {
		n := fullWindows(r, wl.Expiration)
		if n == 0 {
			continue
		}
		keys = max(keys, r.KeysTouched)
		longest = max(longest, n)
		pts := make(plotter.XYs, n)
		for w := range n {
			c := float64(r.CreatorCallsByWindow[w])
			// Log scale: a window without a creator call sits at the
			// bottom of the axis.
			pts[w] = plotter.XY{X: (float64(w) + 0.5) * wl.Expiration.Seconds(), Y: max(c, 0.5)}
			lo, hi = min(lo, pts[w].Y), max(hi, pts[w].Y)
		}
		if err := addSeries(p, pts, i, label(r)); err != nil {
			return nil, err
		}
	}
	if longest == 0 {
		return nil, errors.New("no creator calls were recorded: nothing to draw")
	}
	if keys > 0 {
		// The ideal: each key made once per window.
		ideal, err := plotter.NewLine(plotter.XYs{{X: 0, Y: float64(keys)}, {X: float64(longest) * wl.Expiration.Seconds(), Y: float64(keys)}})
		if err != nil {
			return nil, err
		}
		ideal.LineStyle.Width = vg.Points(1)
		ideal.LineStyle.Dashes = []vg.Length{vg.Points(4), vg.Points(4)}
		ideal.LineStyle.Color = plotutil.Color(7)
		p.Add(ideal)
		p.Legend.Add(fmt.Sprintf("ideal: each of the %d keys made once per window", keys), ideal)
		lo, hi = min(lo, float64(keys)), max(hi, float64(keys))
	}
	logBounds(&p.Y, lo, hi)
	p.X.Min = 0
	return p, nil
}

// latencyPlot draws each strategy's latency percentiles.
func latencyPlot(rep *bench.Report) (*plot.Plot, error) {
	p := plot.New()
	p.Title.Text = "Latency of one request, by percentile"
	p.X.Label.Text = "percentile"
	p.Title.TextStyle.Font.Size = vg.Points(11)
	p.Y.Label.Text = "latency (log scale)"
	p.Y.Scale = plot.LogScale{}
	p.Y.Tick.Marker = latencyTicks{}
	p.Legend.Top = true
	p.Legend.Left = true
	names := make([]string, len(percentiles))
	for i, pc := range percentiles {
		names[i] = pc.label
	}
	p.NominalX(names...)
	p.Add(plotter.NewGrid())
	lo, hi := math.Inf(1), 0.0
	for i, r := range rep.Results {
		if r.Requests == 0 {
			continue
		}
		pts := make(plotter.XYs, len(percentiles))
		for j, pc := range percentiles {
			ns := float64(max(pc.of(r), 1))
			pts[j] = plotter.XY{X: float64(j), Y: ns}
			lo, hi = min(lo, ns), max(hi, ns)
		}
		if err := addSeries(p, pts, i, label(r)); err != nil {
			return nil, err
		}
	}
	if hi == 0 {
		return nil, errors.New("no request completed: no latency to draw")
	}
	logBounds(&p.Y, lo, hi)
	return p, nil
}

func style(line *plotter.Line, points *plotter.Scatter, i int) {
	line.LineStyle.Width = vg.Points(1.5)
	line.LineStyle.Color = plotutil.Color(i)
	line.LineStyle.Dashes = plotutil.Dashes(0)
	points.GlyphStyle.Color = plotutil.Color(i)
	points.GlyphStyle.Shape = plotutil.Shape(i)
	points.GlyphStyle.Radius = vg.Points(3)
}

// countTicks marks powers of ten on a log-scale axis of counts: 1, 10,
// 100, 1k, 10k, ...
type countTicks struct{}

func (countTicks) Ticks(lo, hi float64) []plot.Tick {
	return powerTicks(lo, hi, func(v float64) string {
		switch {
		case v >= 1e6:
			return fmt.Sprintf("%gM", v/1e6)
		case v >= 1e3:
			return fmt.Sprintf("%gk", v/1e3)
		}
		return fmt.Sprintf("%g", v)
	})
}

// latencyTicks marks powers of ten of nanoseconds with their unit: 100ns,
// 1µs, 10µs, ... 1s.
type latencyTicks struct{}

func (latencyTicks) Ticks(lo, hi float64) []plot.Tick {
	return powerTicks(lo, hi, func(v float64) string {
		return bench.FormatDuration(time.Duration(v))
	})
}

// powerTicks labels the powers of ten between lo and hi and marks the
// steps between them as minor ticks.
func powerTicks(lo, hi float64, name func(float64) string) []plot.Tick {
	if lo <= 0 || hi <= 0 || hi < lo {
		return nil
	}
	var ticks []plot.Tick
	for e := math.Floor(math.Log10(lo)); e <= math.Ceil(math.Log10(hi)); e++ {
		v := math.Pow(10, e)
		if v >= lo*0.999 && v <= hi*1.001 {
			ticks = append(ticks, plot.Tick{Value: v, Label: name(v)})
		}
		for m := 2.0; m < 10; m++ {
			if x := m * v; x > lo && x < hi {
				ticks = append(ticks, plot.Tick{Value: x})
			}
		}
	}
	return ticks
}

// addSeries draws one strategy's points as the i-th line of p, in the
// i-th style, with its legend entry.
func addSeries(p *plot.Plot, pts plotter.XYs, i int, legend string) error {
	line, points, err := plotter.NewLinePoints(pts)
	if err != nil {
		return err
	}
	style(line, points, i)
	p.Add(line, points)
	p.Legend.Add(legend, line, points)
	return nil
}

// logBounds sets a log axis to whole powers of ten around lo and hi, with
// room above hi for the legend.
func logBounds(a *plot.Axis, lo, hi float64) {
	a.Min = math.Pow(10, math.Floor(math.Log10(lo)))
	a.Max = math.Pow(10, math.Ceil(math.Log10(hi*1.5)))
}
