package region_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/dogpile-go/dogpile/region"
)

func TestCheckKnown(t *testing.T) {
	known := []string{"url", "lock_timeout", "distributed_lock"}
	if err := (region.Arguments{"url": "x", "lock_timeout": 5}).CheckKnown("memcached", known...); err != nil {
		t.Fatalf("known arguments refused: %v", err)
	}
	if err := (region.Arguments{}).CheckKnown("memcached", known...); err != nil {
		t.Fatalf("no arguments refused: %v", err)
	}
	if err := (region.Arguments(nil)).CheckKnown("memcached"); err != nil {
		t.Fatalf("nil arguments refused: %v", err)
	}

	err := region.Arguments{"url": "x", "lokc_timeout": 5, "clinet": 1}.CheckKnown("memcached", known...)
	if !errors.Is(err, region.ErrBadArgument) {
		t.Fatalf("err = %v, want ErrBadArgument", err)
	}
	var ue *region.UnknownArgumentError
	if !errors.As(err, &ue) {
		t.Fatalf("err = %T, want *UnknownArgumentError", err)
	}
	if ue.Backend != "memcached" || strings.Join(ue.Names, ",") != "clinet,lokc_timeout" {
		t.Errorf("error = %+v", ue)
	}
	want := `unknown arguments "clinet", "lokc_timeout" (did you mean "lock_timeout"?)`
	if err.Error() != want {
		t.Errorf("message\n got %s\nwant %s", err, want)
	}
	one := region.Arguments{"hots": "h"}.CheckKnown("redis", "host", "port")
	if want := `unknown argument "hots"`; one == nil || one.Error() != want {
		t.Errorf("message\n got %v\nwant %s", one, want)
	}
}

// TestUnknownArgumentThroughConfigure: Configure and ConfigureFromConfig
// refuse an argument the backend does not know, naming it and the backend,
// and leave the region unconfigured.
func TestUnknownArgumentThroughConfigure(t *testing.T) {
	r := region.New("unknown-args")
	err := r.Configure("memory", region.WithArguments(region.Arguments{"expiration_tme": 5}))
	want := `region "unknown-args": backend "memory": unknown argument "expiration_tme" (did you mean "expiration_time"?)`
	if !errors.Is(err, region.ErrBadArgument) || err.Error() != want {
		t.Fatalf("Configure: %v\nwant %s", err, want)
	}
	if r.IsConfigured() {
		t.Fatal("region configured despite the unknown argument")
	}
	err = r.ConfigureFromConfig(map[string]any{"cache.backend": "memory", "cache.arguments.bogus": "1"}, "cache.")
	var ue *region.UnknownArgumentError
	if !errors.As(err, &ue) || ue.Backend != "memory" || len(ue.Names) != 1 || ue.Names[0] != "bogus" {
		t.Fatalf("ConfigureFromConfig: %v", err)
	}
}
