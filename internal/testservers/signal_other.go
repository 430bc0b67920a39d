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
