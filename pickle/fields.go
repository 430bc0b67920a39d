package pickle

import (
	"reflect"
	"strings"
	"sync"
)

// A struct crosses as a dict keyed by field name. The key of a field is
// its `pickle:"name"` tag, else its `json:"name"` tag, else its Go name;
// "-" leaves the field out and ",omitempty" leaves out zero values when
// writing. Fields of embedded structs without a tag are promoted, as in
// encoding/json. When reading, a key matches the field of that name, or
// else the first field whose name matches ignoring case; keys without a
// field are ignored.

type field struct {
	name      string
	index     []int
	omitEmpty bool
}

type fieldSet struct {
	list   []field
	exact  map[string]*field
	folded map[string]*field
}

func (fs *fieldSet) lookup(name string) *field {
	if f := fs.exact[name]; f != nil {
		return f
	}
	return fs.folded[strings.ToLower(name)]
}

var fieldCache sync.Map // reflect.Type -> *fieldSet

func structFields(t reflect.Type) *fieldSet {
	if fs, ok := fieldCache.Load(t); ok {
		return fs.(*fieldSet)
	}
	fs := &fieldSet{exact: map[string]*field{}, folded: map[string]*field{}}
	collectFields(t, nil, map[reflect.Type]bool{t: true}, &fs.list)
	// Shallower fields come first, so they win a name clash, as in
	// encoding/json (which drops ambiguous fields of equal depth; here the
	// first declared wins).
	for i := range fs.list {
		f := &fs.list[i]
		if _, dup := fs.exact[f.name]; !dup {
			fs.exact[f.name] = f
		}
		if _, dup := fs.folded[strings.ToLower(f.name)]; !dup {
			fs.folded[strings.ToLower(f.name)] = f
		}
	}
	fieldCache.Store(t, fs)
	return fs
}

// collectFields appends t's fields, breadth first: t's own fields, then
// those promoted from embedded structs.
func collectFields(t reflect.Type, prefix []int, seen map[reflect.Type]bool, out *[]field) {
	type embedded struct {
		t     reflect.Type
		index []int
	}
	var later []embedded
	for i := 0; i < t.NumField(); i++ {
		sf := t.Field(i)
		name, opts, tagged, skip := fieldTag(sf)
		if skip {
			continue
		}
		index := append(append([]int(nil), prefix...), i)
		if sf.Anonymous && !tagged {
			et := sf.Type
			if et.Kind() == reflect.Pointer {
				et = et.Elem()
			}
			if et.Kind() == reflect.Struct {
				if !seen[et] {
					later = append(later, embedded{et, index})
				}
				continue
			}
		}
		if !sf.IsExported() {
			continue
		}
		if name == "" {
			name = sf.Name
		}
		*out = append(*out, field{name: name, index: index, omitEmpty: strings.Contains(","+opts+",", ",omitempty,")})
	}
	for _, e := range later {
		seen[e.t] = true
		collectFields(e.t, e.index, seen, out)
	}
}

// fieldTag returns the name and options of the field's pickle tag, or
// else of its json tag; skip is true for the tag "-".
func fieldTag(sf reflect.StructField) (name, opts string, tagged, skip bool) {
	tag, ok := sf.Tag.Lookup("pickle")
	if !ok {
		tag, ok = sf.Tag.Lookup("json")
	}
	if !ok {
		return "", "", false, false
	}
	if tag == "-" {
		return "", "", true, true
	}
	name, opts, _ = strings.Cut(tag, ",")
	return name, opts, true, false
}
