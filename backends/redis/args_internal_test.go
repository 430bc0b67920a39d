package redis

import (
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

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

// socket_keepalive_options is a net.KeepAliveConfig (as oslocache passes
// enable_socket_keepalive) or redis-py's map of TCP options.
func TestKeepaliveOptions(t *testing.T) {
	want := net.KeepAliveConfig{Idle: 30 * time.Second, Interval: 5 * time.Second, Count: 3}
	for _, opts := range []any{
		net.KeepAliveConfig{Enable: true, Idle: 30 * time.Second, Interval: 5 * time.Second, Count: 3},
		&net.KeepAliveConfig{Idle: 30 * time.Second, Interval: 5 * time.Second, Count: 3},
		map[string]any{"TCP_KEEPIDLE": 30, "socket.TCP_KEEPINTVL": "5", "TCP_KEEPCNT": 3.0},
		map[int]int{4: 30, 5: 5, 6: 3},
		map[any]any{"TCP_KEEPIDLE": 30, 5: 5, "6": 3},
	} {
		c, err := parseConfig(Name, region.Arguments{"socket_keepalive": true, "socket_keepalive_options": opts})
		if err != nil {
			t.Errorf("%#v: %v", opts, err)
			continue
		}
		got := c.conn.keepaliveConfig
		got.Enable = false
		if got != want || !c.conn.keepalive {
			t.Errorf("%#v: keepalive %v, %+v; want true, %+v", opts, c.conn.keepalive, c.conn.keepaliveConfig, want)
		}
	}
	_, err := parseConfig(Name, region.Arguments{"socket_keepalive": true, "socket_keepalive_options": "idle=3"})
	if !errors.Is(err, region.ErrBadArgument) || !strings.Contains(err.Error(), `argument "socket_keepalive_options"`) || !strings.Contains(err.Error(), "net.KeepAliveConfig") {
		t.Errorf("err = %v; want socket_keepalive_options refused, named once", err)
	}
}
