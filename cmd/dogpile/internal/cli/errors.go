package cli

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"syscall"

	"github.com/bradfitz/gomemcache/memcache"
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
// argument with where it came from.
func explain(err error, sc *storeConfig) error {
	var ee *exitError
	if errors.As(err, &ee) {
		return ee
	}
	if errors.Is(err, context.Canceled) {
		return &exitError{code: ExitInterrupted, msg: "interrupted"}
	}
	if msg, ok := unreachable(err, sc); ok {
		return userErrorf("%s", msg)
	}
	if sc == nil {
		return userErrorf("%v", err)
	}
	msg := strings.TrimPrefix(err.Error(), `region "dogpile": `)
	msg = strings.TrimPrefix(msg, fmt.Sprintf("backend %q: ", sc.backend()))
	if errors.Is(err, context.DeadlineExceeded) {
		return userErrorf("backend %s (from %s) did not answer in time: %s", sc.backend(), sc.source, msg)
	}
	return userErrorf("backend %s (from %s): %s", sc.backend(), sc.source, msg)
}

// unreachable recognises a server that could not be reached (refused,
// reset, timed out, no route) and says which server and what timeout.
func unreachable(err error, sc *storeConfig) (string, bool) {
	var opErr *net.OpError
	var cte *memcache.ConnectTimeoutError
	var netErr net.Error
	hasOp := errors.As(err, &opErr)
	hasCTE := errors.As(err, &cte)
	timeout := hasCTE || errors.Is(err, os.ErrDeadlineExceeded) || (errors.As(err, &netErr) && netErr.Timeout())
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
				addr = fmt.Sprint(v)
				break
			}
		}
		if addr == "" {
			addr = doc.DefaultAddr
		}
	}
	msg := "cannot reach the " + server + " server"
	if sc != nil && doc.Server == "" {
		msg = fmt.Sprintf("cannot reach the server of backend %q", sc.backend())
	}
	if addr != "" {
		msg += " at " + addr
	}
	if doc.TimeoutArg != "" {
		t := doc.DefaultTimeout
		if v, ok := sc.arg(doc.TimeoutArg); ok {
			t = fmt.Sprint(v)
		}
		msg += fmt.Sprintf(" (%s %s)", doc.TimeoutArg, t)
	}
	cause := err.Error()
	switch {
	case hasOp:
		cause = opErr.Error()
	case hasCTE:
		cause = cte.Error()
	case timeout:
		cause = "no answer within the timeout"
	}
	msg += ": " + cause
	if sc != nil && sc.source != "" {
		msg += " (backend " + sc.backend() + " from " + sc.source + ")"
	}
	return msg, true
}
