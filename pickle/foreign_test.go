package pickle_test

import (
	"testing"
	"time"

	"github.com/dogpile-go/dogpile/pickle"
	"github.com/dogpile-go/dogpile/region"
)

func TestDecodeForeign(t *testing.T) {
	bare, err := pickle.Marshal(map[string]any{"name": "ada"}, 4)
	if err != nil {
		t.Fatal(err)
	}
	md := region.Metadata{CreatedAt: time.Unix(1700000000, 0), Version: 7}
	enveloped := region.DogpileEnvelope.Append(nil, md, bare)
	for _, tc := range []struct {
		data   []byte
		format string
		ok     bool
	}{
		{bare, "Python pickle", true},
		{enveloped, "dogpile.cache value of another version (pickle)", true},
		{[]byte("hello world"), "", false},
		{[]byte(`{"ct": 1.0, "v": 2}|{"json": true}`), "", false},
		{[]byte("{not json"), "", false},
	} {
		v, format, ok := pickle.Serializer{}.DecodeForeign(tc.data)
		if ok != tc.ok || format != tc.format {
			t.Errorf("DecodeForeign(%q) = %v, %q, %v", tc.data, v, format, ok)
			continue
		}
		if ok {
			if m, _ := v.(map[string]any); m["name"] != "ada" {
				t.Errorf("DecodeForeign(%q) = %#v", tc.data, v)
			}
		}
	}
}
