package region

import (
	"testing"
	"unsafe"
)

func TestFlightShardFillsACacheLine(t *testing.T) {
	if unsafe.Sizeof(uintptr(0)) != 8 {
		t.Skip("the padding is sized for 64-bit pointers")
	}
	if n := unsafe.Sizeof(flightShard{}); n != 64 {
		t.Fatalf("a flight shard is %d bytes, want 64", n)
	}
}
