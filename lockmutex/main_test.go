package lockmutex

import (
	"os"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	if os.Getenv(envHolderKind) != "" {
		// Child process of a killed-holder test (see startKilledHolder).
		os.Exit(runHolder())
	}
	goleak.VerifyTestMain(m)
}
