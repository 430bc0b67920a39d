package region

import (
	"testing"
	"unsafe"
)

func TestFlightShardFillsACacheLine(t *testing.T) {
	if n := unsafe.Sizeof(flightShard{}); n != 64 {
		t.Fatalf("a flight shard is %d bytes, want 64", n)
	}
}
