package cli

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"regexp"
	"strings"
	"syscall"
	"time"

	"github.com/bradfitz/gomemcache/memcache"

	gocachebackend "github.com/dogpile-go/dogpile/backends/gocache"
	"github.com/dogpile-go/dogpile/internal/bench"
	"github.com/dogpile-go/dogpile/region"
)

// Exit statuses.
const (
	// ExitOK: the command did what was asked.
	ExitOK = 0
	// ExitNegative: the command ran but the answer is no: a key not found,
	// a lock held by someone else.
	ExitNegative = 1
	// ExitError: the command could not run: bad usage, a missing config
	// file or section, an unknown backend, an unreachable server, ...
	ExitError = 2
	// ExitInterrupted: stopped by SIGINT or SIGTERM.
	ExitInterrupted = 130
)

// exitError is an error explained for a person, with the exit status it
// gives. Its message is one line.
type exitError struct {
	code int
	msg  string
	// timedOut: the command's own --timeout ran out.
	timedOut bool
}

func (e *exitError) Error() string { return e.msg }

// userErrorf makes an error a person can act on (exit status 2).
func userErrorf(format string, args ...any) error {
	return &exitError{code: ExitError, msg: oneLine(fmt.Sprintf(format, args...))}
}

// negativef makes a "no" answer (exit status 1).
func negativef(format string, args ...any) error {
	return &exitError{code: ExitNegative, msg: oneLine(fmt.Sprintf(format, args...))}
}

// oneLine folds a message onto one line.
func oneLine(s string) string {
	s = strings.TrimSpace(s)
	if !strings.ContainsAny(s, "\r\n") {
		return s
	}
	fields := strings.FieldsFunc(s, func(r rune) bool { return r == '\n' || r == '\r' })
	for i := range fields {
		fields[i] = strings.TrimSpace(fields[i])
	}
	return strings.Join(fields, "; ")
}

// explain turns an error from the region or a backend into one a person can
// act on: an unreachable server with its address and timeout, a bad
// argument with where it came from, an invalid key.
func explain(err error, sc *storeConfig) error {
	var ee *exitError
	if errors.As(err, &ee) {
		return ee
	}
	if errors.Is(err, context.Canceled) {
		return &exitError{code: ExitInterrupted, msg: "interrupted"}
	}
	if sc != nil && isUnknownBackend(err, sc.backend()) {
		return userErrorf("%s", unknownBackend(sc.backend(), sc.source))
	}
	if sc != nil && errors.Is(err, region.ErrPluginNotFound) {
		if msg := unknownProxy(sc.conf, sc.source); msg != "" {
			return userErrorf("%s", msg)
		}
		return userErrorf("wrap (from %s): %s", sc.source, strings.TrimPrefix(err.Error(), `region "dogpile": `))
	}
	from := ""
	if sc != nil {
		from = " (" + sc.where() + ")"
	}
	var dns *net.DNSError
	if errors.As(err, &dns) {
		what := "a server address"
		var ae *region.ArgumentError
		if errors.As(err, &ae) {
			what = "argument " + ae.Name
		}
		cause := dns.Err
		if dns.IsNotFound {
			cause = "no such host"
		}
		return userErrorf("cannot resolve host %s, in %s%s: %s", dns.Name, what, from, cause)
	}
	if errors.Is(err, memcache.ErrMalformedKey) {
		key := ""
		var se *gocachebackend.StoreError
		if errors.As(err, &se) {
			key = fmt.Sprintf(" %q (%s)", se.Key, byteCount(len(se.Key)))
		}
		return userErrorf("key%s is not a valid memcached key: at most 250 bytes, without spaces or control characters; the memcached backend hashes every key with SHA-1 to avoid this, gocache.memcache does not%s", key, from)
	}
	if msg, ok := unreachable(err, sc); ok {
		return userErrorf("%s", msg)
	}
	var ae *region.ArgumentError
	if errors.As(err, &ae) {
		msg := fmt.Sprintf("argument %s = %s: cannot use it as %s", ae.Name, argValue(ae.Value), ae.Want)
		if ae.Err != nil {
			msg += ": " + ae.Err.Error()
		}
		if sc == nil {
			return userErrorf("%s", msg)
		}
		return userErrorf("backend %s (from %s): %s", sc.backend(), sc.source, msg)
	}
	if sc == nil {
		return userErrorf("%s", dedupeKey(err.Error()))
	}
	msg := strings.TrimPrefix(err.Error(), `region "dogpile": `)
	msg = strings.TrimPrefix(msg, fmt.Sprintf("backend %q: ", sc.backend()))
	msg = dedupeKey(msg)
	if errors.Is(err, context.DeadlineExceeded) {
		return userErrorf("backend %s (from %s) did not answer in time: %s", sc.backend(), sc.source, msg)
	}
	return userErrorf("backend %s (from %s): %s", sc.backend(), sc.source, msg)
}

// argValue writes an argument's value as a config file would: a list as
// "a,b", a duration with its unit.
func argValue(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case []string:
		return strings.Join(x, ",")
	case time.Duration:
		return bench.FormatDuration(x)
	}
	return fmt.Sprint(v)
}

// opKeyPrefix matches an error message that starts with the operation and
// the key: `get "KEY": `.
var opKeyPrefix = regexp.MustCompile(`^([a-z_]+) ("(?:[^"\\]|\\.)*"): `)

// dedupeKey drops a leading `op "KEY": ` when the rest of the message names
// the key again (the region and the store both name it), so that a long
// key is printed once.
func dedupeKey(msg string) string {
	m := opKeyPrefix.FindStringSubmatch(msg)
	if m == nil {
		return msg
	}
	rest := msg[len(m[0]):]
	if strings.Contains(rest, m[2]) {
		return rest
	}
	return msg
}

// isTimeout reports whether err is a client or socket timeout.
func isTimeout(err error) bool {
	var cte *memcache.ConnectTimeoutError
	var netErr net.Error
	return errors.As(err, &cte) || errors.Is(err, os.ErrDeadlineExceeded) || (errors.As(err, &netErr) && netErr.Timeout())
}

// unreachable recognises a server that could not be reached (refused,
// reset, no route) or did not answer within its socket timeout, and says
// which server and what timeout.
func unreachable(err error, sc *storeConfig) (string, bool) {
	var opErr *net.OpError
	var cte *memcache.ConnectTimeoutError
	hasOp := errors.As(err, &opErr)
	hasCTE := errors.As(err, &cte)
	timeout := isTimeout(err)
	down := hasOp || hasCTE || timeout ||
		errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, syscall.EHOSTUNREACH) || errors.Is(err, syscall.ENETUNREACH) ||
		errors.Is(err, memcache.ErrNoServers)
	if !down {
		return "", false
	}
	var doc backendDoc
	if sc != nil {
		doc, _ = docFor(sc.backend())
	}
	server := doc.Server
	if server == "" {
		server = "backend"
	}
	addr := ""
	switch {
	case hasOp && opErr.Addr != nil:
		addr = opErr.Addr.String()
	case hasCTE && cte.Addr != nil:
		addr = cte.Addr.String()
	}
	if addr == "" && sc != nil {
		for _, name := range doc.AddrArgs {
			if v, ok := sc.arg(name); ok && fmt.Sprint(v) != "" {
				addr = argValue(v)
				break
			}
		}
		if addr == "" {
			addr = doc.DefaultAddr
		}
	}
	the := "the " + server + " server"
	if sc != nil && doc.Server == "" {
		the = fmt.Sprintf("the server of backend %q", sc.backend())
	}
	if addr != "" {
		the += " at " + addr
	}
	limit := ""
	if doc.TimeoutArg != "" {
		limit = fmt.Sprintf("%s %s", doc.TimeoutArg, timeoutArgValue(sc, doc))
	}
	var msg string
	switch {
	case hasCTE || (timeout && hasOp && opErr.Op == "dial"):
		msg = "cannot connect to " + the
		if limit != "" {
			msg += " within " + limit
		}
	case timeout:
		msg = "no answer from " + the
		if limit != "" {
			msg += " within " + limit
		}
	default:
		msg = "cannot reach " + the
		if limit != "" {
			msg += " (" + limit + ")"
		}
		cause := err.Error()
		if hasOp {
			cause = opErr.Error()
		}
		msg += ": " + cause
	}
	if sc != nil && sc.source != "" {
		msg += " (backend " + sc.backend() + " from " + sc.source + ")"
	}
	return msg, true
}

// timeoutArgValue is the store's socket timeout with its unit: the
// argument as given (seconds when a bare number), else the default.
func timeoutArgValue(sc *storeConfig, doc backendDoc) string {
	if sc != nil {
		if v, ok := sc.arg(doc.TimeoutArg); ok {
			if d, err := (region.Arguments{doc.TimeoutArg: v}).Duration(doc.TimeoutArg, 0); err == nil {
				return bench.FormatDuration(d)
			}
			return argValue(v)
		}
	}
	return doc.DefaultTimeout
}
