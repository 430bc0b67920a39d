package redis

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/dogpile-go/dogpile/region"
)

// The Sentinels get the top-level credentials, as dogpile.cache's
// sentinel_kwargs.setdefault does, never connection_kwargs' (the servers'
// alone), and sentinel_kwargs' own over both.
func TestSentinelCredentials(t *testing.T) {
	cases := []struct {
		name                   string
		args                   region.Arguments
		wantUser, wantPassword string
	}{
		{"top-level", region.Arguments{"username": "u", "password": "p"}, "u", "p"},
		{"connection_kwargs", region.Arguments{"connection_kwargs": map[string]any{"username": "u", "password": "p"}}, "", ""},
		{"sentinel_kwargs", region.Arguments{"password": "p", "sentinel_kwargs": map[string]any{"password": "sp"}}, "", "sp"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			args := tc.args.Clone()
			args["sentinels"] = "127.0.0.1:26379"
			c, err := parseConfig(SentinelName, args)
			if err != nil {
				t.Fatal(err)
			}
			if c.sentinel.username != tc.wantUser || c.sentinel.password != tc.wantPassword {
				t.Errorf("Sentinels' username, password = %q, %q; want %q, %q", c.sentinel.username, c.sentinel.password, tc.wantUser, tc.wantPassword)
			}
		})
	}
}

// go-redis names the Sentinel connections with the servers' client name:
// a sentinel_kwargs client_name of its own is refused, not dropped.
func TestSentinelClientName(t *testing.T) {
	base := region.Arguments{"sentinels": "127.0.0.1:26379", "connection_kwargs": map[string]any{"client_name": "svc"}}
	if _, err := parseConfig(SentinelName, with(base, "sentinel_kwargs", map[string]any{"client_name": "svc"})); err != nil {
		t.Errorf("the servers' client_name refused: %v", err)
	}
	_, err := parseConfig(SentinelName, with(base, "sentinel_kwargs", map[string]any{"client_name": "other"}))
	if !errors.Is(err, region.ErrBadArgument) || !strings.Contains(fmt.Sprint(err), "sentinel_kwargs.client_name") {
		t.Errorf("err = %v; want sentinel_kwargs.client_name refused", err)
	}
}

func with(args region.Arguments, name string, v any) region.Arguments {
	c := args.Clone()
	c[name] = v
	return c
}
