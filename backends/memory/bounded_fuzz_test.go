package memory_test

import (
	"errors"
	"io"
	"strconv"
	"strings"
	"testing"

	"github.com/dogpile-go/dogpile/backends/memory"
	"github.com/dogpile-go/dogpile/region"
)

// FuzzBoundedArguments: the memory backend's bound arguments, as a
// configuration file gives them (strings), either build a bounded backend
// whose bound is the positive integer given or are refused with an
// *ArgumentError; never a panic.
func FuzzBoundedArguments(f *testing.F) {
	f.Add("100", "", "", false)
	f.Add("0", "", "1h", false)
	f.Add("-1", "", "", true)
	f.Add("", "1000", "", false)
	f.Add("10", "10", "10", false)
	f.Add(" 7 ", "", "1.5", false)
	f.Add("1e3", "", "soon", false)
	f.Add("99999999999999999999", "", "", false)
	f.Fuzz(func(t *testing.T, size, weight, ttl string, cleanup bool) {
		args := region.Arguments{}
		for name, v := range map[string]string{"max_size": size, "max_weight": weight, "expiration_time": ttl} {
			if v != "" {
				args[name] = v
			}
		}
		if cleanup {
			args["cleanup_interval"] = "1m"
		}
		b, err := region.NewBackend("memory", args)
		if err != nil {
			var ae *region.ArgumentError
			if !errors.Is(err, region.ErrBadArgument) || !errors.As(err, &ae) || ae.Name == "" {
				t.Fatalf("%v: error %v is not an *ArgumentError naming the argument", args, err)
			}
			return
		}
		if c, ok := b.(io.Closer); ok {
			defer c.Close()
		}
		bounded, isBounded := b.(*memory.Bounded)
		if size == "" && weight == "" {
			if isBounded {
				t.Fatalf("%v: a bounded backend without a bound", args)
			}
			return
		}
		if weight != "" {
			t.Fatalf("%v: max_weight without a weigher was accepted", args)
		}
		n, convErr := strconv.Atoi(strings.TrimSpace(size))
		if !isBounded || convErr != nil || n <= 0 || cleanup {
			t.Fatalf("%v: accepted as %T", args, b)
		}
		if bounded.Len() != 0 || bounded.Evictions() != 0 {
			t.Fatalf("%v: a new backend holds %d values", args, bounded.Len())
		}
	})
}
