package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/eko/gocache/lib/v4/store"

	"github.com/dogpile-go/dogpile/internal/bench"
	"github.com/dogpile-go/dogpile/region"
)

// ForeignDecoder is the hook through which `dogpile get` reads values that
// other programs wrote under the same keys: Python dogpile.cache's pickles
// on a shared memcached or Redis, for one. A backend, or the serializer or
// envelope of a byte backend, implements it; get asks it about a value
// that is not a dogpile-go value before it reports "present, not a dogpile
// value". The interface is matched by its method alone, so a backend
// package implements it without importing this one.
type ForeignDecoder interface {
	// DecodeForeign decodes raw, the bytes stored under a key, into a
	// value that has a JSON form (maps, slices, strings, numbers, ...).
	// format names what raw was, for a note ("Python pickle"). ok is
	// false when raw is not a format it knows.
	DecodeForeign(raw []byte) (v any, format string, ok bool)
}

// ForeignReader is the hook for backends that keep more than bytes per key
// (memcached's flags, for one), so that get cannot decode a foreign value
// from the bytes alone: the backend reads the key (as stored, after the
// key mangler) and decodes it itself. found is false when the key is
// absent, ok when the value is not in a format the backend knows.
type ForeignReader interface {
	ReadForeign(ctx context.Context, key string) (v any, format string, found, ok bool, err error)
}

// RawReader is the hook for backends that are not byte backends but keep
// bytes (the Python-compatible memcached backends): ReadRaw returns the
// bytes stored under key (as stored, after the key mangler), for get --raw.
type RawReader interface {
	ReadRaw(ctx context.Context, key string) (data []byte, found bool, err error)
}

// corruptRecorder collects the values a read found unreadable, so that get
// can tell a foreign value from an absent one. It travels in the context
// of the read to the region's error handler (see App.region).
type corruptRecorder struct {
	mu  sync.Mutex
	err error
}

type corruptRecorderKey struct{}

func withCorruptRecorder(ctx context.Context, rec *corruptRecorder) context.Context {
	return context.WithValue(ctx, corruptRecorderKey{}, rec)
}

// recordCorrupt records err in ctx's recorder; false when there is none.
func recordCorrupt(ctx context.Context, err error) bool {
	rec, ok := ctx.Value(corruptRecorderKey{}).(*corruptRecorder)
	if !ok || !errors.Is(err, region.ErrCorruptValue) {
		return false
	}
	rec.mu.Lock()
	if rec.err == nil {
		rec.err = err
	}
	rec.mu.Unlock()
	return true
}

func (rec *corruptRecorder) recorded() error {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	return rec.err
}

// getter is one `dogpile get`.
type getter struct {
	a         *App
	sc        *storeConfig
	r         *region.Region
	key       string
	timeout   time.Duration
	ignoreExp bool
}

func (g *getter) read(ctx context.Context, opts ...region.CallOption) (*region.CachedValue, error) {
	var cv *region.CachedValue
	err := g.a.call(ctx, g.sc, g.timeout, func(ctx context.Context) (err error) {
		cv, err = g.r.GetValueMetadata(ctx, g.key, opts...)
		return err
	})
	if err != nil {
		// The call may still be running (see await): cv is not ours.
		return nil, err
	}
	return cv, nil
}

func (g *getter) run(ctx context.Context, meta, raw bool) error {
	var opts []region.CallOption
	if g.ignoreExp {
		opts = append(opts, region.IgnoreExpiration())
	}
	rec := &corruptRecorder{}
	cv, err := g.read(withCorruptRecorder(ctx, rec), opts...)
	if err != nil {
		return err
	}
	if cv == nil {
		if cerr := rec.recorded(); cerr != nil {
			return g.foreign(ctx, raw, cerr)
		}
		return g.absent(ctx)
	}
	if raw {
		return g.printRaw(ctx)
	}
	payload, err := g.exactPayload(ctx, cv.Payload, opts)
	if err != nil {
		return err
	}
	var out any = payload
	if meta {
		age := time.Since(cv.Metadata.CreatedAt)
		m := valueMeta{
			Key:           g.key,
			Value:         payload,
			CreatedAt:     cv.Metadata.CreatedAt.UTC().Format(time.RFC3339Nano),
			AgeSeconds:    roundSeconds(age),
			FormatVersion: cv.Metadata.Version,
			Backend:       g.sc.backend(),
		}
		if exp := g.r.ExpirationTime(); exp > 0 {
			m.ExpiresAt = cv.Metadata.CreatedAt.Add(exp).UTC().Format(time.RFC3339Nano)
			m.Expired = age > exp
		}
		out = m
	}
	return g.print(out)
}

// print writes v as one line of JSON, with a note on stderr for each part
// JSON cannot show as it is.
func (g *getter) print(v any) error {
	if m, ok := v.(valueMeta); ok {
		var notes []string
		m.Value = jsonValue(m.Value, &notes)
		g.notes(notes)
		_, err := writeJSON(g.a.stdout(), m)
		return err
	}
	notes, err := writeJSON(g.a.stdout(), v)
	g.notes(notes)
	return err
}

func (g *getter) notes(notes []string) {
	for _, n := range notes {
		fmt.Fprintf(g.a.stderr(), "dogpile: note: key %q: %s\n", g.key, n)
	}
}

// exactPayload returns the value to print. A JSON-serialized payload read
// generically has lost its large integers to float64; it is read again,
// keeping every number as written.
func (g *getter) exactPayload(ctx context.Context, decoded any, opts []region.CallOption) (any, error) {
	ser, ok := region.BackendAs[interface{ Serializer() region.Serializer }](g.r.ActualBackend())
	if !ok || ser.Serializer() == nil || ser.Serializer().Name() != "json" {
		return decoded, nil
	}
	var v exactJSON
	found := false
	err := g.a.call(ctx, g.sc, g.timeout, func(ctx context.Context) (err error) {
		v, found, err = region.GetAs[exactJSON](ctx, g.r, g.key, opts...)
		return err
	})
	if err != nil || !found {
		return decoded, nil
	}
	return v.v, nil
}

// exactJSON decodes a JSON payload with its numbers as written.
type exactJSON struct{ v any }

func (e *exactJSON) UnmarshalJSON(b []byte) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	return dec.Decode(&e.v)
}

// absent explains a key with no readable value: expired, invalidated or
// not there.
func (g *getter) absent(ctx context.Context) error {
	if !g.ignoreExp {
		cv, err := g.read(ctx, region.IgnoreExpiration())
		if err != nil {
			return err
		}
		if cv != nil {
			age := time.Since(cv.Metadata.CreatedAt)
			if exp := g.r.ExpirationTime(); exp > 0 && age > exp {
				return negativef("key %q expired %s ago (expiration_time %s, created %s ago); --ignore-expiration prints it (%s)",
					g.key, formatAgo(age-exp), bench.FormatDuration(exp), formatAgo(age), g.sc.where())
			}
			return negativef("key %q was invalidated; --ignore-expiration prints it (%s)", g.key, g.sc.where())
		}
	}
	g.a.inProcessNote(g.sc)
	return negativef("key %q not found (%s)", g.key, g.sc.where())
}

// foreign reports a key whose bytes are not a dogpile-go value: decoded by
// a ForeignDecoder when one knows them, printed with --raw, else described.
func (g *getter) foreign(ctx context.Context, raw bool, cause error) error {
	if fr, ok := region.BackendAs[ForeignReader](g.r.ActualBackend()); ok && !raw {
		var (
			v              any
			format         string
			found, decoded bool
		)
		err := g.a.call(ctx, g.sc, g.timeout, func(ctx context.Context) (err error) {
			v, format, found, decoded, err = fr.ReadForeign(ctx, g.mangledKey())
			return err
		})
		if err != nil {
			return err
		}
		if !found {
			return negativef("key %q not found (%s)", g.key, g.sc.where())
		}
		if decoded {
			fmt.Fprintf(g.a.stderr(), "dogpile: note: key %q: a %s, not a value of this region\n", g.key, format)
			return g.print(v)
		}
	}
	data, found, supported, err := g.rawBytes(ctx)
	if err != nil {
		return err
	}
	if !supported {
		return &exitError{code: ExitForeign, msg: oneLine(fmt.Sprintf("key %q is present, not a dogpile value: %v (%s)", g.key, cause, g.sc.where()))}
	}
	if !found {
		return negativef("key %q not found (%s)", g.key, g.sc.where())
	}
	if !raw {
		for _, d := range g.foreignDecoders() {
			if v, format, ok := d.DecodeForeign(data); ok {
				fmt.Fprintf(g.a.stderr(), "dogpile: note: key %q: a %s value (%d bytes), not written by dogpile-go\n", g.key, format, len(data))
				return g.print(v)
			}
		}
	}
	if raw {
		_, err := g.a.stdout().Write(data)
		return err
	}
	return &exitError{code: ExitForeign, msg: fmt.Sprintf("key %q is present, not a dogpile value (%s); --raw prints it (%s)",
		g.key, byteCount(len(data)), g.sc.where())}
}

func byteCount(n int) string {
	if n == 1 {
		return "1 byte"
	}
	return fmt.Sprintf("%d bytes", n)
}

// foreignDecoders are the ForeignDecoders of the store: its backend, and
// a byte backend's serializer and envelope.
func (g *getter) foreignDecoders() []ForeignDecoder {
	var out []ForeignDecoder
	actual := g.r.ActualBackend()
	if d, ok := region.BackendAs[ForeignDecoder](actual); ok {
		out = append(out, d)
	}
	if sb, ok := region.BackendAs[*region.SerializedBackend](actual); ok {
		if d, ok := sb.Serializer().(ForeignDecoder); ok {
			out = append(out, d)
		}
		if d, ok := sb.Envelope().(ForeignDecoder); ok {
			out = append(out, d)
		}
	}
	return out
}

// printRaw writes the stored bytes of the key as they are.
func (g *getter) printRaw(ctx context.Context) error {
	data, found, supported, err := g.rawBytes(ctx)
	if err != nil {
		return err
	}
	if !supported {
		return userErrorf("get --raw: backend %s keeps Go values, not bytes; --raw works with byte backends (memcached, Redis, memory_serialized)", g.sc.backend())
	}
	if !found {
		return negativef("key %q not found (%s)", g.key, g.sc.where())
	}
	_, err = g.a.stdout().Write(data)
	return err
}

// mangledKey is the key as stored: after the region's key mangler.
func (g *getter) mangledKey() string {
	if mg := g.r.KeyMangler(); mg != nil {
		return mg(g.key)
	}
	return g.key
}

// rawBytes reads the bytes stored under the key (after the key mangler),
// past the region's envelope. supported is false for backends that keep Go
// values rather than bytes.
func (g *getter) rawBytes(ctx context.Context) (data []byte, found, supported bool, err error) {
	mkey := g.mangledKey()
	actual := g.r.ActualBackend()
	var read func(context.Context) error
	if rr, ok := region.BackendAs[RawReader](actual); ok {
		read = func(ctx context.Context) (err error) {
			data, found, err = rr.ReadRaw(ctx, mkey)
			return err
		}
	} else if bb, ok := region.BackendAs[region.BytesBackend](actual); ok {
		read = func(ctx context.Context) (err error) {
			data, found, err = bb.GetSerialized(ctx, mkey)
			return err
		}
	} else if sb, ok := region.BackendAs[interface{ Store() store.StoreInterface }](actual); ok {
		read = func(ctx context.Context) error {
			v, err := sb.Store().Get(ctx, mkey)
			if errors.Is(err, store.NotFound{}) {
				return nil
			}
			if err != nil {
				return err
			}
			switch x := v.(type) {
			case []byte:
				data, found, supported = x, true, true
			case string:
				data, found, supported = []byte(x), true, true
			}
			return nil
		}
		err := g.a.call(ctx, g.sc, g.timeout, read)
		if err != nil {
			return nil, false, false, err
		}
		return data, found, supported || !found, nil
	} else {
		return nil, false, false, nil
	}
	if err := g.a.call(ctx, g.sc, g.timeout, read); err != nil {
		return nil, false, true, err
	}
	return data, found, true, nil
}

// formatAgo writes a past duration for a person: "0.5 s", "12 s", "3m20s".
func formatAgo(d time.Duration) string {
	switch {
	case d < 10*time.Second:
		return strings.TrimSuffix(fmt.Sprintf("%.1f", d.Seconds()), ".0") + " s"
	case d < time.Minute:
		return fmt.Sprintf("%d s", int(d.Round(time.Second).Seconds()))
	}
	return bench.FormatDuration(d.Round(time.Second))
}

func roundSeconds(d time.Duration) float64 {
	return float64(d.Round(time.Millisecond)) / float64(time.Second)
}
