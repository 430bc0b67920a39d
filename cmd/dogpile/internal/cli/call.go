package cli

import (
	"context"
	"errors"
	"time"

	"github.com/dogpile-go/dogpile/internal/bench"
)

// maxTimeout is the longest --timeout (and lock --hold) the commands take.
const maxTimeout = 24 * time.Hour

// releaseAfterInterrupt bounds the release of a lock after Ctrl-C.
const releaseAfterInterrupt = time.Second

// checkTimeout refuses a --timeout that is not positive or longer than
// maxTimeout.
func checkTimeout(cmd string, d time.Duration) error {
	if d <= 0 || d > maxTimeout {
		return userErrorf("%s --timeout %s: out of range: want more than 0s and at most %s", cmd, bench.FormatDuration(d), bench.FormatDuration(maxTimeout))
	}
	return nil
}

// await runs call and returns its error. When ctx ends first it returns
// ctx's error at once and leaves call to finish in the background: some
// clients (gomemcache) do not watch a context, so a call on a hung server
// would otherwise hold the command for the client's whole socket timeout.
// Whatever call writes must not be read when await returns ctx's error.
func await(ctx context.Context, call func(context.Context) error) error {
	if ctx.Done() == nil {
		return call(ctx)
	}
	done := make(chan error, 1)
	go func() { done <- call(ctx) }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// call runs one call to the store with the command's --timeout, ends it at
// once when the command is interrupted, and explains its error: the
// command's own timeout is reported as such ("no answer within --timeout
// 1ms"), not as an unreachable server.
func (a *App) call(parent context.Context, sc *storeConfig, timeout time.Duration, call func(context.Context) error) error {
	ctx, cancel := context.WithTimeout(parent, timeout)
	defer cancel()
	err := await(ctx, call)
	if err == nil {
		return nil
	}
	if parent.Err() != nil {
		return &exitError{code: ExitInterrupted, msg: "interrupted"}
	}
	if ctx.Err() != nil && (errors.Is(err, context.DeadlineExceeded) || errors.Is(err, ctx.Err()) || isTimeout(err)) {
		return &exitError{code: ExitError, timedOut: true, msg: oneLine(
			"no answer within --timeout " + bench.FormatDuration(timeout) + " (" + sc.where() + "); a longer --timeout may help")}
	}
	return explain(err, sc)
}
