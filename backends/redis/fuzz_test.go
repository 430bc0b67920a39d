package redis

import (
	"errors"
	"testing"

	"github.com/dogpile-go/dogpile/region"
)

// FuzzArguments feeds configuration-file strings to the parsers of url,
// sentinels, startup_nodes and connection_kwargs: every outcome is a
// configuration or an error matching region.ErrBadArgument, never a panic.
func FuzzArguments(f *testing.F) {
	for _, s := range []string{
		"redis://u:p@h:1/2?socket_timeout=1", "rediss://h", "unix:///x?db=1", "redis://[::1]:6379",
		"h:1,h:2", "[::1]:26379", "a:b", "redis://h:1,redis://h:2", `{"ssl": true}`, `{"db": "x"}`, "%zz", ":", ",",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, tc := range []struct {
			backend string
			args    region.Arguments
		}{
			{Name, region.Arguments{"url": s}},
			{Name, region.Arguments{"connection_kwargs": s}},
			{SentinelName, region.Arguments{"sentinels": s}},
			{ClusterName, region.Arguments{"startup_nodes": s}},
			{ClusterName, region.Arguments{"url": s}},
		} {
			c, err := parseConfig(tc.backend, tc.args)
			if err != nil {
				if !errors.Is(err, region.ErrBadArgument) {
					t.Fatalf("%s %v: error %v does not match ErrBadArgument", tc.backend, tc.args, err)
				}
				continue
			}
			if c.addr == "" && len(c.nodes) == 0 && len(c.sentinels) == 0 {
				t.Fatalf("%s %v: accepted with no server", tc.backend, tc.args)
			}
		}
	})
}
