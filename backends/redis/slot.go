package redis

import "strings"

// slotCount is the number of hash slots of a Redis Cluster.
const slotCount = 16384

// crc16Table is CRC-16/XMODEM (polynomial 0x1021, initial value 0), the
// checksum the Redis Cluster specification assigns keys to slots with.
var crc16Table = func() (t [256]uint16) {
	for i := range t {
		c := uint16(i) << 8
		for range 8 {
			if c&0x8000 != 0 {
				c = c<<1 ^ 0x1021
			} else {
				c <<= 1
			}
		}
		t[i] = c
	}
	return t
}()

// keySlot returns the hash slot of key, as a cluster node computes it (and
// CLUSTER KEYSLOT reports): CRC-16 of the key modulo 16384, where a key
// with a non-empty "{...}" hash tag is hashed by the tag alone, so that
// "{user1}.a" and "{user1}.b" share a slot. go-redis computes the same in
// an internal package, which cannot be imported.
func keySlot(key string) int {
	if tag, ok := hashTag(key); ok {
		key = tag
	}
	var crc uint16
	for i := 0; i < len(key); i++ {
		crc = crc<<8 ^ crc16Table[byte(crc>>8)^key[i]]
	}
	return int(crc) % slotCount
}

// hashTag returns key's hash tag: what is between its first "{" and the
// next "}", when that is not empty. Keys with the same tag share a slot
// (see keySlot).
func hashTag(key string) (string, bool) {
	open := strings.IndexByte(key, '{')
	if open < 0 {
		return "", false
	}
	n := strings.IndexByte(key[open+1:], '}')
	if n <= 0 {
		return "", false
	}
	return key[open+1 : open+1+n], true
}
