package benchplot

import (
	"bytes"
	"encoding/xml"
	"errors"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dogpile-go/dogpile/internal/bench"
)

func report() *bench.Report {
	w := bench.DefaultWorkload()
	w.Duration = 3 * time.Second
	return &bench.Report{Workload: w, Backend: "memcached", Procs: 2, Results: []bench.Result{
		{Strategy: bench.CacheAside, Store: "gomemcache", Requests: 90000, Elapsed: 3 * time.Second, KeysTouched: 10,
			CreatorCallsByWindow: []uint64{400, 390, 410, 12},
			P50:                  2 * time.Millisecond, P90: 4 * time.Millisecond, P99: 22 * time.Millisecond, P999: 40 * time.Millisecond, Max: 85 * time.Millisecond},
		{Strategy: bench.Region, Store: "memcached", Requests: 80000, Elapsed: 3 * time.Second, KeysTouched: 10,
			CreatorCallsByWindow: []uint64{10, 10, 10, 0},
			P50:                  300 * time.Nanosecond, P90: time.Microsecond, P99: 30 * time.Microsecond, P999: 20 * time.Millisecond, Max: 21 * time.Millisecond},
		{Strategy: bench.RegionAsync, Store: "memcached", Partial: true, Requests: 1000, Elapsed: 1500 * time.Millisecond, KeysTouched: 10,
			CreatorCallsByWindow: []uint64{10, 0},
			P50:                  290 * time.Nanosecond, P90: 800 * time.Nanosecond, P99: 5 * time.Microsecond, P999: 30 * time.Microsecond, Max: 20 * time.Millisecond},
	}}
}

func TestWriteSVG(t *testing.T) {
	var buf bytes.Buffer
	if err := Write(&buf, SVG, report()); err != nil {
		t.Fatal(err)
	}
	// Well-formed XML, with every strategy in the legend and the titles.
	dec := xml.NewDecoder(bytes.NewReader(buf.Bytes()))
	for {
		if _, err := dec.Token(); err != nil {
			if err.Error() != "EOF" {
				t.Fatalf("SVG does not parse: %v", err)
			}
			break
		}
	}
	svg := buf.String()
	for _, want := range []string{"cache-aside (gomemcache)", "region.GetOrCreate (memcached)", "region.GetOrCreate+async (memcached) (partial)",
		"Creator calls per 1s expiry window", "ideal: each of the 10 keys made once per window", "Latency of one request, by percentile",
		"p99.9", "100ns", "1ms", "2 processes"} {
		if !strings.Contains(svg, want) {
			t.Errorf("SVG lacks %q", want)
		}
	}
}

func TestWriteFilePNG(t *testing.T) {
	name := filepath.Join(t.TempDir(), "bench.PNG")
	if err := WriteFile(name, report()); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	if b := img.Bounds(); b.Dx() != 1100 || b.Dy() != 990 {
		t.Errorf("PNG is %dx%d, want 1100x990 (10x9 in at 110 dpi)", b.Dx(), b.Dy())
	}
	// Not blank: the top-left corner is the white background, the middle
	// has the plots' ink.
	if r, g, b, _ := img.At(2, 2).RGBA(); r != 0xffff || g != 0xffff || b != 0xffff {
		t.Errorf("background is not white: %v", img.At(2, 2))
	}
}

func TestFormatOf(t *testing.T) {
	for name, want := range map[string]Format{"a.svg": SVG, "b.PNG": PNG, "dir/c.png": PNG} {
		if got, err := FormatOf(name); got != want || err != nil {
			t.Errorf("FormatOf(%q) = %q, %v", name, got, err)
		}
	}
	for _, bad := range []string{"a.gif", "b", "c.svg.txt"} {
		if _, err := FormatOf(bad); !errors.Is(err, ErrFormat) {
			t.Errorf("FormatOf(%q): %v", bad, err)
		}
	}
	if err := WriteFile(filepath.Join(t.TempDir(), "x.jpg"), report()); !errors.Is(err, ErrFormat) {
		t.Errorf("WriteFile .jpg: %v", err)
	}
}

func TestNothingToDraw(t *testing.T) {
	dir := t.TempDir()
	name := filepath.Join(dir, "empty.svg")
	if err := WriteFile(name, &bench.Report{Workload: bench.DefaultWorkload()}); err == nil {
		t.Error("an empty report was drawn")
	}
	if _, err := os.Stat(name); !os.IsNotExist(err) {
		t.Errorf("a failed drawing left a file: %v", err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 0 {
		t.Errorf("temporary files left: %v", entries)
	}
}
