package testservers_test

import (
	"testing"

	"github.com/dogpile-go/dogpile/internal/testservers"
)

// TestRedisSentinelMasterAndReplicaAreOptional: the shared Sentinel set
// needs its Sentinels and service name only; the first master and replica
// are filled in when their variables are set.
func TestRedisSentinelMasterAndReplicaAreOptional(t *testing.T) {
	t.Setenv(testservers.EnvRedisSentinels, "127.0.0.1:26410,127.0.0.1:26411")
	t.Setenv(testservers.EnvRedisSentinelService, "mymaster")
	t.Setenv(testservers.EnvRedisSentinelMaster, "")
	t.Setenv(testservers.EnvRedisSentinelReplica, "")
	set := testservers.RedisSentinel(t)
	if len(set.Sentinels) != 2 || set.Service != "mymaster" || set.Master != "" || set.Replica != "" {
		t.Fatalf("without master and replica: %+v", set)
	}
	t.Setenv(testservers.EnvRedisSentinelMaster, "127.0.0.1:26413")
	t.Setenv(testservers.EnvRedisSentinelReplica, "127.0.0.1:26414")
	set = testservers.RedisSentinel(t)
	if set.Master != "127.0.0.1:26413" || set.Replica != "127.0.0.1:26414" {
		t.Fatalf("with master and replica: %+v", set)
	}
}
