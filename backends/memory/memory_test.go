package memory_test

import (
	"testing"

	"go.uber.org/goleak"

	_ "github.com/dogpile-go/dogpile/backends/memory"
	"github.com/dogpile-go/dogpile/region"
	"github.com/dogpile-go/dogpile/region/regiontest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestMemoryBackend(t *testing.T) { regiontest.RunBackendTests(t, "memory", nil) }

func TestMemoryBackendWithTTL(t *testing.T) {
	regiontest.RunBackendTests(t, "memory", region.Arguments{"expiration_time": "1h", "cleanup_interval": "50ms"})
}

func TestMemorySerializedBackend(t *testing.T) {
	regiontest.RunBackendTests(t, "memory_serialized", nil)
}

func TestKeystoneMemoryBackend(t *testing.T) {
	regiontest.RunBackendTests(t, "openstack.kvs.Memory", nil)
}
