package memcache

import (
	"errors"
	"fmt"
	"hash"
	"hash/crc32"
	"net"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	gomemcache "github.com/bradfitz/gomemcache/memcache"
	"github.com/spaolacci/murmur3"
)

// This file picks servers the way the Python memcached clients of
// dogpile.cache do, so that a Go process and a Python process sharing a
// list of servers put every key (and every "_lock" item) on the same one:
//
//   - python-memcached (dogpile.cache.memcached, oslo_cache.memcache_pool):
//     a hash of the key (CmemcacheHash) picks one of the buckets, the list
//     of servers with each server repeated weight times;
//   - pymemcache's HashClient (dogpile.cache.pymemcache): rendezvous
//     hashing, the server whose murmur3 hash of "<node>-<key>" is highest.

// DefaultMemcachedPort is the port of a server address given without one,
// as both Python clients assume.
const DefaultMemcachedPort = 11211

// CmemcacheHash is python-memcached's server hash (its cmemcache_hash):
// bits 16 to 30 of the CRC-32 of key, or 1 when those are all zero.
func CmemcacheHash(key string) uint32 {
	bufp := keyBufs.Get().(*[]byte)
	b := append((*bufp)[:0], key...)
	h := (crc32.ChecksumIEEE(b) >> 16) & 0x7fff
	*bufp = b
	keyBufs.Put(bufp)
	if h == 0 {
		return 1
	}
	return h
}

// keyBufs hold the bytes hashed to pick a server, so that picking one
// allocates nothing.
var keyBufs = sync.Pool{New: func() any { b := make([]byte, 0, 512); return &b }}

// murmurHashers are murmur3 (seed 0) hashers. The library's streaming
// hasher is used rather than its Sum32, whose pointer arithmetic the race
// detector's pointer checks (checkptr) reject.
var murmurHashers = sync.Pool{New: func() any { return murmur3.New32() }}

// serverRetries is python-memcached's Client._SERVER_RETRIES: how many
// buckets its server choice tries before giving up on a key.
const serverRetries = 10

// WeightedServer is a python-memcached server with a weight: the server
// takes Weight buckets (python-memcached's ("host:port", weight) tuple).
// In a url list, give one as a WeightedServer value or as a two-item list
// []any{"host:port", weight}.
type WeightedServer struct {
	Addr   string
	Weight int
}

// ErrAllServersDead is returned by a selector when no server can take a
// key because every server it would try is marked dead (see dead_retry).
var ErrAllServersDead = errors.New("memcache: no live server for the key")

// PythonMemcacheSelector is a gomemcache.ServerSelector that picks servers
// as python-memcached 1.58 does (Client._get_server): the bucket list holds
// each server weight times, in the order given, and a key goes to bucket
// CmemcacheHash(key) modulo the number of buckets. When that server is
// marked dead (MarkDead), python-memcached tries the bucket of
// CmemcacheHash(str(hash) + str(i)) for i = 0, 1, ... up to ten times; so
// does PickServer. Safe for concurrent use.
type PythonMemcacheSelector struct {
	addrs   []net.Addr
	names   []string // as given
	buckets []int    // server index of each bucket
	dead    deadList
}

// NewPythonMemcacheSelector returns a selector over servers given as
// python-memcached reads them ("host:port", "host" for port 11211,
// "inet:host:port", "inet6:[addr]:port", "unix:/path"), each with weight 1.
func NewPythonMemcacheSelector(servers ...string) (*PythonMemcacheSelector, error) {
	ws := make([]WeightedServer, len(servers))
	for i, s := range servers {
		ws[i] = WeightedServer{Addr: s, Weight: 1}
	}
	return NewWeightedPythonMemcacheSelector(ws...)
}

// NewWeightedPythonMemcacheSelector is NewPythonMemcacheSelector with a
// weight per server (at least 1).
func NewWeightedPythonMemcacheSelector(servers ...WeightedServer) (*PythonMemcacheSelector, error) {
	if len(servers) == 0 {
		return nil, ErrNoServers
	}
	s := &PythonMemcacheSelector{}
	for i, ws := range servers {
		if ws.Weight < 1 {
			return nil, fmt.Errorf("memcache: server %q: weight %d, want 1 or more", ws.Addr, ws.Weight)
		}
		addr, err := ParsePythonMemcacheServer(ws.Addr)
		if err != nil {
			return nil, err
		}
		s.addrs = append(s.addrs, newStaticAddr(addr))
		s.names = append(s.names, ws.Addr)
		for range ws.Weight {
			s.buckets = append(s.buckets, i)
		}
	}
	s.dead.init(len(s.addrs))
	return s, nil
}

var (
	pmUnix  = regexp.MustCompile(`^unix:(.*)$`)
	pmInet6 = regexp.MustCompile(`^inet6:\[([^\[\]]+)\](?::([0-9]+))?$`)
	pmInet  = regexp.MustCompile(`^inet:([^:]+)(?::([0-9]+))?$`)
	pmPlain = regexp.MustCompile(`^([^:]+)(?::([0-9]+))?$`)
)

// ParsePythonMemcacheServer reads a server address as python-memcached's
// _Host does: "unix:/path", "inet6:[::1]:11211", "inet:host:port",
// "host:port" or "host" (port 11211). Anything else is an error, as in
// python-memcached (which refuses "[::1]:11211": write "inet6:[::1]:11211").
func ParsePythonMemcacheServer(s string) (net.Addr, error) {
	if m := pmUnix.FindStringSubmatch(s); m != nil {
		return &net.UnixAddr{Name: m[1], Net: "unix"}, nil
	}
	network, m := "tcp6", pmInet6.FindStringSubmatch(s)
	if m == nil {
		network, m = "tcp4", pmInet.FindStringSubmatch(s)
	}
	if m == nil {
		network, m = "tcp4", pmPlain.FindStringSubmatch(s)
	}
	if m == nil {
		return nil, fmt.Errorf("memcache: cannot parse server address %q as python-memcached does (host:port, inet6:[addr]:port or unix:/path)", s)
	}
	port := DefaultMemcachedPort
	if m[2] != "" {
		p, err := strconv.Atoi(m[2])
		if err != nil || p > 65535 {
			return nil, fmt.Errorf("memcache: server address %q: bad port %q", s, m[2])
		}
		port = p
	}
	a, err := net.ResolveTCPAddr(network, net.JoinHostPort(m[1], strconv.Itoa(port)))
	if err != nil {
		return nil, fmt.Errorf("memcache: server address %q: %w", s, err)
	}
	return a, nil
}

// Servers returns the servers as given, in order.
func (s *PythonMemcacheSelector) Servers() []string { return append([]string(nil), s.names...) }

// Buckets returns the number of buckets (the sum of the weights).
func (s *PythonMemcacheSelector) Buckets() int { return len(s.buckets) }

// ServerIndex returns the index (in the order given) of the server
// python-memcached picks for key, skipping servers marked dead as it does,
// or -1 when it finds no live server.
func (s *PythonMemcacheSelector) ServerIndex(key string) int {
	h := CmemcacheHash(key)
	if !s.dead.any() {
		return s.buckets[h%uint32(len(s.buckets))]
	}
	now := time.Now()
	for i := range serverRetries {
		srv := s.buckets[h%uint32(len(s.buckets))]
		if !s.dead.isDead(srv, now) {
			return srv
		}
		h = CmemcacheHash(strconv.FormatUint(uint64(h), 10) + strconv.Itoa(i))
	}
	return -1
}

// PickServer returns the server for key (gomemcache.ServerSelector).
func (s *PythonMemcacheSelector) PickServer(key string) (net.Addr, error) {
	i := s.ServerIndex(key)
	if i < 0 {
		return nil, ErrAllServersDead
	}
	return s.addrs[i], nil
}

// Each calls f for every server (gomemcache.ServerSelector).
func (s *PythonMemcacheSelector) Each(f func(net.Addr) error) error {
	for _, a := range s.addrs {
		if err := f(a); err != nil {
			return err
		}
	}
	return nil
}

// RendezvousSelector is a gomemcache.ServerSelector that picks servers as
// pymemcache 3.5's HashClient does with its default hasher
// (RendezvousHash with murmur3_32, seed 0): every node scores
// murmur3("<node>-<key>") and the highest score wins, a tie going to the
// greater node name. A node's name is pymemcache's: "host:port" (the host
// as written, brackets of an IPv6 address removed; port 11211 when not
// given), or the path of a Unix socket. Nodes marked dead are left out of
// the scoring (pymemcache removes them from the hasher). Safe for
// concurrent use.
type RendezvousSelector struct {
	nodes []string
	addrs []net.Addr
	dead  deadList
}

// NewRendezvousSelector returns a selector over servers given as
// pymemcache reads them: "host:port", "host" (port 11211), "[v6addr]:port",
// "unix:/path" or "/path".
func NewRendezvousSelector(servers ...string) (*RendezvousSelector, error) {
	if len(servers) == 0 {
		return nil, ErrNoServers
	}
	s := &RendezvousSelector{}
	for _, srv := range servers {
		name, addr, err := ParsePymemcacheServer(srv)
		if err != nil {
			return nil, err
		}
		for _, n := range s.nodes {
			if n == name {
				return nil, fmt.Errorf("memcache: server %q given twice (node %q)", srv, name)
			}
		}
		s.nodes = append(s.nodes, name)
		s.addrs = append(s.addrs, newStaticAddr(addr))
	}
	s.dead.init(len(s.addrs))
	return s, nil
}

// ParsePymemcacheServer reads a server address as pymemcache's
// normalize_server_spec does and returns HashClient's node name for it
// and the address to dial.
func ParsePymemcacheServer(s string) (node string, addr net.Addr, err error) {
	if path, ok := strings.CutPrefix(s, "unix:"); ok {
		return path, &net.UnixAddr{Name: path, Net: "unix"}, nil
	}
	if strings.HasPrefix(s, "/") {
		return s, &net.UnixAddr{Name: s, Net: "unix"}, nil
	}
	host, port := s, DefaultMemcachedPort
	if strings.Contains(s, ":") && !strings.HasSuffix(s, "]") {
		i := strings.LastIndexByte(s, ':')
		p, perr := strconv.Atoi(s[i+1:])
		if perr != nil || p < 0 || p > 65535 {
			return "", nil, fmt.Errorf("memcache: server address %q: bad port %q", s, s[i+1:])
		}
		host, port = s[:i], p
	}
	if strings.HasPrefix(host, "[") {
		host = strings.Trim(host, "[]")
	}
	if host == "" {
		return "", nil, fmt.Errorf("memcache: server address %q has no host", s)
	}
	a, err := net.ResolveTCPAddr("tcp", net.JoinHostPort(host, strconv.Itoa(port)))
	if err != nil {
		return "", nil, fmt.Errorf("memcache: server address %q: %w", s, err)
	}
	return host + ":" + strconv.Itoa(port), a, nil
}

// Nodes returns the node names, in the order given.
func (s *RendezvousSelector) Nodes() []string { return append([]string(nil), s.nodes...) }

// ServerIndex returns the index of the node pymemcache's HashClient picks
// for key among the live nodes, or -1 when every node is marked dead.
func (s *RendezvousSelector) ServerIndex(key string) int {
	bufp := keyBufs.Get().(*[]byte)
	defer keyBufs.Put(bufp)
	h := murmurHashers.Get().(hash.Hash32)
	defer murmurHashers.Put(h)
	best, bestScore := -1, int64(-1)
	checkDead := s.dead.any()
	now := time.Time{}
	if checkDead {
		now = time.Now()
	}
	for i, n := range s.nodes {
		if checkDead && s.dead.isDead(i, now) {
			continue
		}
		b := append(append(append((*bufp)[:0], n...), '-'), key...)
		*bufp = b
		h.Reset()
		_, _ = h.Write(b) // a hash's Write never fails
		score := int64(h.Sum32())
		switch {
		case score > bestScore:
			best, bestScore = i, score
		case score == bestScore && n > s.nodes[best]:
			best = i
		}
	}
	return best
}

// PickServer returns the server for key (gomemcache.ServerSelector).
func (s *RendezvousSelector) PickServer(key string) (net.Addr, error) {
	i := s.ServerIndex(key)
	if i < 0 {
		return nil, ErrAllServersDead
	}
	return s.addrs[i], nil
}

// Each calls f for every server (gomemcache.ServerSelector).
func (s *RendezvousSelector) Each(f func(net.Addr) error) error {
	for _, a := range s.addrs {
		if err := f(a); err != nil {
			return err
		}
	}
	return nil
}

// deadList records until when each server is skipped. The common case, no
// server dead, costs one atomic-free read of a counter under a read lock.
type deadList struct {
	mu    sync.RWMutex
	until []time.Time
	n     int // servers with a non-zero until
}

func (d *deadList) init(n int) { d.until = make([]time.Time, n) }

// any reports whether some server is (or was) marked dead.
func (d *deadList) any() bool {
	d.mu.RLock()
	defer d.mu.RUnlock()
	return d.n > 0
}

// isDead reports whether server i is marked dead at now; a mark that has
// run out is cleared.
func (d *deadList) isDead(i int, now time.Time) bool {
	d.mu.RLock()
	u := d.until[i]
	d.mu.RUnlock()
	if u.IsZero() {
		return false
	}
	if now.Before(u) {
		return true
	}
	d.mu.Lock()
	if !d.until[i].IsZero() && !now.Before(d.until[i]) {
		d.until[i] = time.Time{}
		d.n--
	}
	d.mu.Unlock()
	return false
}

// mark marks server i dead until until.
func (d *deadList) mark(i int, until time.Time) {
	d.mu.Lock()
	if d.until[i].IsZero() {
		d.n++
	}
	d.until[i] = until
	d.mu.Unlock()
}

// newStaticAddr computes a's strings once (see staticAddr).
func newStaticAddr(a net.Addr) net.Addr { return staticAddr{network: a.Network(), str: a.String()} }

// markDead takes server i out of the choice until until (dead_retry):
// the rehash loop skips it.
func (s *PythonMemcacheSelector) markDead(i int, until time.Time) { s.dead.mark(i, until) }

// addrList returns the servers' addresses in order.
func (s *PythonMemcacheSelector) addrList() []net.Addr { return s.addrs }

// markDead takes node i out of the rendezvous set until until.
func (s *RendezvousSelector) markDead(i int, until time.Time) { s.dead.mark(i, until) }

// addrList returns the nodes' addresses in order.
func (s *RendezvousSelector) addrList() []net.Addr { return s.addrs }

var (
	_ gomemcache.ServerSelector = (*PythonMemcacheSelector)(nil)
	_ gomemcache.ServerSelector = (*RendezvousSelector)(nil)
)
