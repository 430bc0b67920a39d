package region_test

import (
	"errors"
	"testing"

	"github.com/dogpile-go/dogpile/region"
)

func TestRefusedArgumentError(t *testing.T) {
	var err error = &region.RefusedArgumentError{Backend: "b", Name: "connection_pool", Reason: "a Python object"}
	if !errors.Is(err, region.ErrBadArgument) {
		t.Error("a refused argument does not match ErrBadArgument")
	}
	if got, want := err.Error(), `argument "connection_pool" refused: a Python object`; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
}
