package memcache

import (
	"errors"
	"testing"
	"time"

	gomemcache "github.com/bradfitz/gomemcache/memcache"

	"github.com/dogpile-go/dogpile/pickle"
	"github.com/dogpile-go/dogpile/region"
)

// FuzzDecodePythonItem: any flags and bytes decode or fail with an
// *ItemError (region.ErrCorruptValue), never panic or allocate without
// bound, through DecodePythonItem and through a backend's read path with
// and without a region serializer.
func FuzzDecodePythonItem(f *testing.F) {
	cv0, _ := pickle.EncodeCachedValue(map[string]any{"a": []any{int64(1), "x"}}, time.Unix(1700000000, 0), 2, 0)
	cv5, _ := pickle.EncodeCachedValue("v", time.Unix(1700000000, 0), 2, 5)
	f.Add(uint32(FlagPickle), cv0)
	f.Add(uint32(FlagPickle), cv5)
	f.Add(uint32(FlagPickle|FlagCompressed), deflate(cv0))
	f.Add(uint32(FlagText), []byte("héllo"))
	f.Add(uint32(FlagInteger), []byte("-123456789012345678901234567890"))
	f.Add(uint32(0), []byte(`{"ct": 1700000000.5, "v": 2}|{"a": 1}`))
	f.Add(uint32(FlagCompressed), []byte("x\x9c\x03\x00\x00\x00\x00\x01"))
	f.Add(uint32(1<<9), []byte("x"))
	pm := &PythonBackend{opts: PythonOptions{Client: PythonMemcached}}
	js := &PythonBackend{opts: PythonOptions{Client: PythonMemcached}}
	js.SetSerializer(region.JSONSerializer{})
	f.Fuzz(func(t *testing.T, flags uint32, data []byte) {
		if _, err := DecodePythonItem(flags, data); err != nil {
			var ie *ItemError
			if !errors.As(err, &ie) || !errors.Is(err, region.ErrCorruptValue) {
				t.Fatalf("DecodePythonItem error %v is not an *ItemError", err)
			}
		}
		for _, b := range []*PythonBackend{pm, js} {
			cv, err := b.decodeItem(&gomemcache.Item{Key: "k", Flags: flags, Value: data})
			if err != nil {
				if !errors.Is(err, region.ErrCorruptValue) {
					t.Fatalf("decodeItem error %v does not match ErrCorruptValue", err)
				}
				continue
			}
			e, ok := cv.Payload.(region.EncodedPayload)
			if !ok {
				t.Fatalf("payload %T, want a region.EncodedPayload", cv.Payload)
			}
			_, _ = e.Value() // may fail (a value Go cannot hold), never panic
		}
	})
}
