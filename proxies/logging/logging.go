// Package logging is a region proxy that logs cache operations with
// log/slog: every backend call at Debug (operation, key, duration, whether
// a value was found), backend errors at Error, creator calls at Debug (Warn
// when the creator fails) and waits for the dogpile lock at Debug. The
// levels are configurable.
//
// Install it in code:
//
//	err := r.Configure("memory", region.WithWrap(logging.New(logging.Options{Logger: logger})))
//
// or from configuration, by its registered name (the package registers
// "logging", which logs to slog.Default(), when imported):
//
//	import _ "github.com/dogpile-go/dogpile/proxies/logging"
//
//	r.ConfigureFromConfig(map[string]any{"cache.backend": "memory", "cache.wrap": "logging"}, "cache.")
//
// Before doing any work for a record the proxy asks the logger whether the
// level is enabled, so with Debug off an operation costs one Enabled call.
package logging

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"log/slog"
	"maps"
	"slices"
	"sync/atomic"
	"time"

	"github.com/dogpile-go/dogpile/region"
)

// ProxyName is the name the package registers its proxy under (for a
// region configuration's "wrap" key). That proxy logs to slog.Default()
// with the default levels.
const ProxyName = "logging"

func init() {
	region.RegisterProxy(ProxyName, func() (region.Proxy, error) {
		return New(Options{}), nil
	})
}

// Message texts of the records the proxy writes.
const (
	MsgGet         = "cache get"
	MsgGetMulti    = "cache get_multi"
	MsgSet         = "cache set"
	MsgSetMulti    = "cache set_multi"
	MsgDelete      = "cache delete"
	MsgDeleteMulti = "cache delete_multi"
	MsgCreation    = "cache creation"
	MsgLockWait    = "cache lock wait"
)

// Operation names, the values of the "op" attribute.
const (
	OpGet         = "get"
	OpGetMulti    = "get_multi"
	OpSet         = "set"
	OpSetMulti    = "set_multi"
	OpDelete      = "delete"
	OpDeleteMulti = "delete_multi"
	OpCreate      = "create"
	OpLockWait    = "lock_wait"
)

// Attribute keys of the records the proxy writes.
const (
	KeyRegion   = "region"   // the region's name
	KeyOp       = "op"       // get, get_multi, set, set_multi, delete, delete_multi, create, lock_wait
	KeyKey      = "key"      // the key (mangled for backend operations, as given for creation and lock waits)
	KeyKeys     = "keys"     // the keys of a multi-key operation
	KeyFound    = "found"    // get: whether a value was found
	KeyHits     = "hits"     // get_multi: how many of the keys were found
	KeyDuration = "duration" // how long the call took (time.Duration)
	KeyError    = "error"    // the error, when the call failed
)

// Options configure a Proxy. The zero value logs to slog.Default() with the
// default levels. The level fields take a slog.Level or, to change the level
// at run time, a *slog.LevelVar.
type Options struct {
	// Logger receives the records. Nil means slog.Default(), looked up at
	// each call, so a later slog.SetDefault takes effect.
	Logger *slog.Logger
	// Level is the level of backend operation and lock wait records. Nil
	// means slog.LevelDebug.
	Level slog.Leveler
	// CreationLevel is the level of successful creator calls. Nil means
	// the Level. Set it to slog.LevelInfo to see creations (misses that
	// ran the creator) without every operation.
	CreationLevel slog.Leveler
	// ErrorLevel is the level of backend errors. Nil means slog.LevelError.
	ErrorLevel slog.Leveler
	// CreatorErrorLevel is the level of failed creator calls. Nil means
	// slog.LevelWarn.
	CreatorErrorLevel slog.Leveler
	// KeyValue renders a key in records. Nil logs keys as they are. Keys
	// can be secrets (Keystone token IDs are bearer credentials): use
	// HashedKey, or a function of your own, to keep them out of logs.
	KeyValue func(key string) slog.Value
}

// HashedKey renders a key as the first 12 hex digits of its SHA-256: enough
// to tell keys apart in logs, useless to someone who reads them.
func HashedKey(key string) slog.Value {
	sum := sha256.Sum256([]byte(key))
	return slog.StringValue("sha256:" + hex.EncodeToString(sum[:6]))
}

// keysAttr is the record attribute for the keys of a multi-key call.
func (p *Proxy) keysAttr(keys []string) slog.Attr {
	if p.keyValue == nil {
		return slog.Any(KeyKeys, keys)
	}
	vals := make([]any, len(keys))
	for i, k := range keys {
		vals[i] = p.keyValue(k).Any()
	}
	return slog.Any(KeyKeys, vals)
}

// keyAttr is the record attribute for key.
func (p *Proxy) keyAttr(key string) slog.Attr {
	if p.keyValue != nil {
		return slog.Attr{Key: KeyKey, Value: p.keyValue(key)}
	}
	return slog.String(KeyKey, key)
}

// Proxy logs the calls that pass through it. It implements region.Observer
// (creator calls, lock waits) and region.RegionNameSetter, which the region
// uses on its own when the proxy is installed. Build it with New; it is
// safe for concurrent use.
type Proxy struct {
	region.ProxyBackend
	logger                         *slog.Logger
	level, errLevel                level
	creatorErrLevel, creationLevel level
	name                           atomic.Pointer[string]
	keyValue                       func(string) slog.Value
	next                           region.ValueReader // Proxied's fast path, if it has one
}

// SetProxied sets the next backend in the chain.
func (p *Proxy) SetProxied(b region.Backend) {
	p.ProxyBackend.SetProxied(b)
	p.next, _ = b.(region.ValueReader)
}

var (
	_ region.Proxy            = (*Proxy)(nil)
	_ region.Observer         = (*Proxy)(nil)
	_ region.RegionNameSetter = (*Proxy)(nil)
)

// New returns a logging proxy.
func New(opts Options) *Proxy {
	p := &Proxy{
		logger:          opts.Logger,
		level:           levelOf(opts.Level, slog.LevelDebug),
		errLevel:        levelOf(opts.ErrorLevel, slog.LevelError),
		creatorErrLevel: levelOf(opts.CreatorErrorLevel, slog.LevelWarn),
		keyValue:        opts.KeyValue,
	}
	p.creationLevel = p.level
	if opts.CreationLevel != nil {
		p.creationLevel = levelOf(opts.CreationLevel, slog.LevelDebug)
	}
	return p
}

// level is a fixed slog.Level, or a dynamic one (a *slog.LevelVar, ...)
// asked at each call: a fixed level costs no interface call.
type level struct {
	fixed   slog.Level
	dynamic slog.Leveler
}

func levelOf(l slog.Leveler, def slog.Level) level {
	switch l := l.(type) {
	case nil:
		return level{fixed: def}
	case slog.Level:
		return level{fixed: l}
	default:
		return level{dynamic: l}
	}
}

// Level returns the level now.
func (l level) Level() slog.Level {
	if l.dynamic != nil {
		return l.dynamic.Level()
	}
	return l.fixed
}

// SetRegionName sets the "region" attribute of the records the proxy
// writes from now on. Until it is called the attribute is empty.
func (p *Proxy) SetRegionName(name string) { p.name.Store(&name) }

// RegionName returns the region name the proxy adds to its records.
func (p *Proxy) RegionName() string {
	if n := p.name.Load(); n != nil {
		return *n
	}
	return ""
}

func (p *Proxy) log() *slog.Logger {
	if p.logger != nil {
		return p.logger
	}
	return slog.Default()
}

func (p *Proxy) regionAttr() slog.Attr {
	return slog.String(KeyRegion, p.RegionName())
}

// start reports whether operation records are enabled on l and, if so, the
// time the operation starts; with them off it does not read the clock.
func (p *Proxy) start(ctx context.Context, l *slog.Logger) (bool, time.Time) {
	if !l.Enabled(ctx, p.level.Level()) {
		return false, time.Time{}
	}
	return true, time.Now()
}

// failed logs a backend error at ErrorLevel, with the duration when the
// operation was timed.
func (p *Proxy) failed(ctx context.Context, l *slog.Logger, msg, op string, timed bool, start time.Time, keyAttr slog.Attr, err error) {
	if !l.Enabled(ctx, p.errLevel.Level()) {
		return
	}
	if timed {
		l.LogAttrs(ctx, p.errLevel.Level(), msg, p.regionAttr(), slog.String(KeyOp, op), keyAttr,
			slog.Duration(KeyDuration, time.Since(start)), slog.Any(KeyError, err))
		return
	}
	l.LogAttrs(ctx, p.errLevel.Level(), msg, p.regionAttr(), slog.String(KeyOp, op), keyAttr, slog.Any(KeyError, err))
}

// Get logs the read: key, whether a value was found, duration.
func (p *Proxy) Get(ctx context.Context, key string) (cv region.CachedValue, ok bool, err error) {
	l := p.log()
	if !l.Enabled(ctx, p.level.Level()) { // the hit path in production: keep it short
		cv, ok, err = p.Proxied.Get(ctx, key)
		if err != nil {
			p.failed(ctx, l, MsgGet, OpGet, false, time.Time{}, p.keyAttr(key), err)
		}
		return
	}
	start := time.Now()
	cv, ok, err = p.Proxied.Get(ctx, key)
	if err != nil {
		p.failed(ctx, l, MsgGet, OpGet, true, start, p.keyAttr(key), err)
	} else {
		l.LogAttrs(ctx, p.level.Level(), MsgGet, p.regionAttr(), slog.String(KeyOp, OpGet),
			p.keyAttr(key), slog.Bool(KeyFound, ok), slog.Duration(KeyDuration, time.Since(start)))
	}
	return
}

// Lookup is the region's fast path (region.ValueReader) for in-process
// backends: it logs the read as Get does and reads through the next
// layer's Lookup. The region uses it only when every layer below has one.
func (p *Proxy) Lookup(key string) *region.CachedValue {
	if p.next == nil {
		return nil // not reached: the region checks the chain first
	}
	ctx := context.Background()
	l := p.log()
	if !l.Enabled(ctx, p.level.Level()) {
		return p.next.Lookup(key)
	}
	start := time.Now()
	cv := p.next.Lookup(key)
	l.LogAttrs(ctx, p.level.Level(), MsgGet, p.regionAttr(), slog.String(KeyOp, OpGet),
		p.keyAttr(key), slog.Bool(KeyFound, cv != nil), slog.Duration(KeyDuration, time.Since(start)))
	return cv
}

// GetMulti logs the read: keys, how many were found, duration.
func (p *Proxy) GetMulti(ctx context.Context, keys []string) (map[string]region.CachedValue, error) {
	l := p.log()
	on, start := p.start(ctx, l)
	m, err := p.Proxied.GetMulti(ctx, keys)
	if err != nil {
		p.failed(ctx, l, MsgGetMulti, OpGetMulti, on, start, p.keysAttr(keys), err)
	} else if on {
		hits := 0
		for _, k := range keys {
			if _, ok := m[k]; ok {
				hits++
			}
		}
		l.LogAttrs(ctx, p.level.Level(), MsgGetMulti, p.regionAttr(), slog.String(KeyOp, OpGetMulti),
			p.keysAttr(keys), slog.Int(KeyHits, hits), slog.Duration(KeyDuration, time.Since(start)))
	}
	return m, err
}

// Set logs the write: key, duration.
func (p *Proxy) Set(ctx context.Context, key string, v region.CachedValue) error {
	l := p.log()
	on, start := p.start(ctx, l)
	err := p.Proxied.Set(ctx, key, v)
	p.done(ctx, l, MsgSet, OpSet, on, start, p.keyAttr(key), err)
	return err
}

// SetMulti logs the write: keys (sorted), duration.
func (p *Proxy) SetMulti(ctx context.Context, m map[string]region.CachedValue) error {
	l := p.log()
	on, start := p.start(ctx, l)
	err := p.Proxied.SetMulti(ctx, m)
	if on || err != nil {
		p.done(ctx, l, MsgSetMulti, OpSetMulti, on, start, p.keysAttr(slices.Sorted(maps.Keys(m))), err)
	}
	return err
}

// Delete logs the delete: key, duration.
func (p *Proxy) Delete(ctx context.Context, key string) error {
	l := p.log()
	on, start := p.start(ctx, l)
	err := p.Proxied.Delete(ctx, key)
	p.done(ctx, l, MsgDelete, OpDelete, on, start, p.keyAttr(key), err)
	return err
}

// DeleteMulti logs the delete: keys, duration.
func (p *Proxy) DeleteMulti(ctx context.Context, keys []string) error {
	l := p.log()
	on, start := p.start(ctx, l)
	err := p.Proxied.DeleteMulti(ctx, keys)
	p.done(ctx, l, MsgDeleteMulti, OpDeleteMulti, on, start, p.keysAttr(keys), err)
	return err
}

// done logs a write or delete: its error, or its success when operation
// records are on.
func (p *Proxy) done(ctx context.Context, l *slog.Logger, msg, op string, on bool, start time.Time, keyAttr slog.Attr, err error) {
	if err != nil {
		p.failed(ctx, l, msg, op, on, start, keyAttr, err)
		return
	}
	if on {
		l.LogAttrs(ctx, p.level.Level(), msg, p.regionAttr(), slog.String(KeyOp, op), keyAttr,
			slog.Duration(KeyDuration, time.Since(start)))
	}
}

// ObserveCreation implements region.Observer: it logs a creator call with
// its key and duration at CreationLevel, or with its error at
// CreatorErrorLevel.
func (p *Proxy) ObserveCreation(ctx context.Context, key string, took time.Duration, err error) {
	l := p.log()
	if err != nil {
		if l.Enabled(ctx, p.creatorErrLevel.Level()) {
			l.LogAttrs(ctx, p.creatorErrLevel.Level(), MsgCreation, p.regionAttr(), slog.String(KeyOp, OpCreate),
				p.keyAttr(key), slog.Duration(KeyDuration, took), slog.Any(KeyError, err))
		}
		return
	}
	if l.Enabled(ctx, p.creationLevel.Level()) {
		l.LogAttrs(ctx, p.creationLevel.Level(), MsgCreation, p.regionAttr(), slog.String(KeyOp, OpCreate),
			p.keyAttr(key), slog.Duration(KeyDuration, took))
	}
}

// ObserveLockWait implements region.Observer: it logs a wait for the
// dogpile lock with its key and duration at Level.
func (p *Proxy) ObserveLockWait(ctx context.Context, key string, waited time.Duration) {
	l := p.log()
	if l.Enabled(ctx, p.level.Level()) {
		l.LogAttrs(ctx, p.level.Level(), MsgLockWait, p.regionAttr(), slog.String(KeyOp, OpLockWait),
			p.keyAttr(key), slog.Duration(KeyDuration, waited))
	}
}
