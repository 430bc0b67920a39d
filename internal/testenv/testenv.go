// Package testenv is for this module's tests only: it decides what a test
// does when something it needs from the machine (a server, the Python
// packages, a binary) is missing.
package testenv

import (
	"os"
	"testing"
)

// EnvCI names the environment variable that makes a missing requirement a
// failure: with CI=true a missing server or package is a broken setup, not
// a choice.
const EnvCI = "CI"

// SkipOrFail skips the test with msg, which should say how to get what is
// missing, or fails it with msg when CI=true.
func SkipOrFail(t testing.TB, msg string) {
	t.Helper()
	if os.Getenv(EnvCI) == "true" {
		t.Fatal(msg)
	} else {
		t.Skip(msg)
	}
}
