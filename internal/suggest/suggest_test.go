package suggest

import "testing"

func TestClosest(t *testing.T) {
	known := []string{"lock_timeout", "distributed_lock", "url", "socket_timeout", "db", "host", "port"}
	for _, tc := range []struct{ name, want string }{
		{"lokc_timeout", "lock_timeout"}, // transposition: distance 2
		{"lock_timout", "lock_timeout"},  // deletion
		{"LOCK_TIMEOUT", "lock_timeout"}, // case
		{"distributed_locks", "distributed_lock"},
		{"urls", "url"},
		{"hots", ""}, // 4 characters: distance 2 is too far
		{"dbb", "db"},
		{"prot", ""},
		{"clinet", ""}, // far from every name
		{"expiration_time", ""},
		{"", ""},
	} {
		if got := Closest(tc.name, known); got != tc.want {
			t.Errorf("Closest(%q) = %q, want %q", tc.name, got, tc.want)
		}
	}
	if got := Closest("x", nil); got != "" {
		t.Errorf("Closest with no candidates = %q", got)
	}
}
