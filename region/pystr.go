package region

import (
	"strings"

	"github.com/dogpile-go/dogpile/internal/pystr"
)

// ArgumentString renders a cached function's argument for its key as
// dogpile's function_key_generator renders a Python function's positional
// arguments: each with Python's str(), joined by spaces. A slice, an array
// or a struct (without a String method) is several arguments: its elements,
// or its exported fields in order. A single value renders as Python's str()
// of the Python value it stands for:
//
//	string      as it is                 true, false   True, False
//	nil         None                     1.0, 1.5      1.0, 1.5 (Python's repr of a float)
//	42          42                       *big.Int      its decimal digits
//	[]byte      b'...' (Python's bytes)  fmt.Stringer  its String()
//	a pointer   what it points to        (nil: None)
//
// and a list, map or struct inside an argument as Python prints a list,
// dict or tuple: [1, 'a'], {'k': 2}, (1, 'a'). A Python dict prints in the
// order its items were inserted, which a Go map does not keep: map items
// are sorted (numbers by value, other keys by their repr), so a key made
// from a map matches Python's only when the Python dict was built in that
// order.
func ArgumentString(arg any) string {
	if items, ok := pystr.Elements(arg); ok {
		parts := make([]string, len(items))
		for i, it := range items {
			parts[i] = pystr.StrValue(it)
		}
		return strings.Join(parts, " ")
	}
	return pystr.Str(arg)
}

// MultiArgumentString renders one argument of a cached batch function for
// its key as dogpile's function_multi_key_generator renders each argument:
// Python's str() of the one Python value it stands for. Unlike
// ArgumentString, a slice, an array or a struct is one argument, a tuple:
// (7, 'ada'); everything else renders as in ArgumentString.
func MultiArgumentString(arg any) string {
	if items, ok := pystr.Elements(arg); ok {
		return pystr.TupleRepr(items)
	}
	return pystr.Str(arg)
}
