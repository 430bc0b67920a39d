package testservers

import (
	"context"
	"os"
	"os/exec"
)

// Child returns a command that runs this test binary again as a child
// process: with no tests to run (-test.run=^$) and with env added to this
// process's environment. The package's TestMain (or an init function)
// recognizes the child by a variable in env and does the child's work
// instead of running tests.
func Child(env ...string) *exec.Cmd {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), env...)
	return cmd
}

// ChildContext is Child with a context that kills the child when it is
// done (see exec.CommandContext).
func ChildContext(ctx context.Context, env ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), env...)
	return cmd
}
