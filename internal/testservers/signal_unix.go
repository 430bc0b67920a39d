//go:build unix

package testservers

import (
	"fmt"
	"os"
	"syscall"
)

func signalStop(p *os.Process) error { return p.Signal(syscall.SIGSTOP) }
func signalCont(p *os.Process) error { return p.Signal(syscall.SIGCONT) }
func signalTerm(p *os.Process) error { return p.Signal(syscall.SIGTERM) }

// reapIfExited reaps p if it has exited, without waiting: its wait status
// and true, or false while it runs.
func reapIfExited(p *os.Process) (string, bool) {
	var ws syscall.WaitStatus
	pid, err := syscall.Wait4(p.Pid, &ws, syscall.WNOHANG, nil)
	if err != nil || pid != p.Pid {
		return "", false
	}
	if ws.Exited() {
		return fmt.Sprintf("exit status %d", ws.ExitStatus()), true
	}
	return ws.Signal().String(), true
}
