package redis

import (
	"context"
	"fmt"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/dogpile-go/dogpile/internal/testservers"
)

// Known slots from the Redis Cluster specification and the server.
func TestKeySlotKnown(t *testing.T) {
	for key, want := range map[string]int{
		"":                     0,
		"123456789":            12739, // the CRC-16/XMODEM check value 0x31C3
		"foo":                  12182,
		"{user1000}.following": keySlot("user1000"),
		"foo{}{bar}":           keySlot("foo{}{bar}"), // empty first tag: the whole key
		"foo{{bar}}zap":        keySlot("{bar"),
	} {
		if got := keySlot(key); got != want {
			t.Errorf("keySlot(%q) = %d; want %d", key, got, want)
		}
	}
}

// keySlot agrees with the cluster's CLUSTER KEYSLOT.
func TestKeySlotMatchesServer(t *testing.T) {
	c := goredis.NewClient(&goredis.Options{Addr: testservers.RedisCluster(t)[0]})
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	keys := []string{"a", "ключ", "_lockkey", "{}", "{a}{b}", "x{y}z", "{", "}{", "tag{}", "\x00\xff"}
	for i := range 300 {
		keys = append(keys, fmt.Sprintf("key:%d", i), fmt.Sprintf("{t%d}:x", i%7), fmt.Sprintf("_lock{%d", i))
	}
	for _, k := range keys {
		want, err := c.ClusterKeySlot(ctx, k).Result()
		if err != nil {
			t.Fatal(err)
		}
		if got := keySlot(k); int64(got) != want {
			t.Errorf("keySlot(%q) = %d; the server says %d", k, got, want)
		}
	}
}

// Keys with the same hash tag share a slot: the tag is what keySlot
// hashes.
func TestHashTag(t *testing.T) {
	for key, want := range map[string]string{
		"{user1000}.following": "user1000",
		"foo{{bar}}zap":        "{bar",
		"x{y}z{w}":             "y",
	} {
		tag, ok := hashTag(key)
		if !ok || tag != want || keySlot(key) != keySlot(tag) {
			t.Errorf("hashTag(%q) = %q, %v; want %q (slots %d, %d)", key, tag, ok, want, keySlot(key), keySlot(tag))
		}
	}
	for _, key := range []string{"", "foo", "foo{}{bar}", "{", "}{", "tag{}"} {
		if tag, ok := hashTag(key); ok {
			t.Errorf("hashTag(%q) = %q; want none", key, tag)
		}
	}
}
