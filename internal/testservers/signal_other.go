//go:build !unix

package testservers

import (
	"errors"
	"os"
)

var errNoJobControl = errors.New("pausing a process needs unix signals")

func signalStop(*os.Process) error   { return errNoJobControl }
func signalCont(*os.Process) error   { return errNoJobControl }
func signalTerm(p *os.Process) error { return p.Kill() }

// reapIfExited cannot tell without unix wait calls: it reports a running
// process, and a server that failed to start is found by its timeout.
func reapIfExited(*os.Process) (string, bool) { return "", false }
