package memcache

import (
	"cmp"
	"crypto/md5"
	"encoding/binary"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"

	gomemcache "github.com/bradfitz/gomemcache/memcache"
)

// Server selectors, the values of the server_selector argument.
const (
	// SelectorModulo is gomemcache's selector, the default: CRC-32 of the
	// key modulo the number of servers. Changing the server list moves most
	// keys to another server.
	SelectorModulo = "modulo"

	// SelectorKetama is consistent hashing (KetamaSelector): adding or
	// removing one of N servers moves about 1/N of the keys.
	SelectorKetama = "ketama"
)

// selectorNames lists the valid server_selector values, the default first.
var selectorNames = []string{SelectorModulo, SelectorKetama}

// Ketama ring layout: every server gets KetamaPointsPerServer points per
// unit of weight, KetamaPointsPerHash of them from each MD5 digest.
const (
	// KetamaPointsPerServer is how many points one server (of weight 1)
	// has on the ring.
	KetamaPointsPerServer = 160

	// KetamaPointsPerHash is how many points one MD5 digest gives (four
	// 32-bit little-endian words).
	KetamaPointsPerHash = 4
)

// KetamaSelector is a gomemcache.ServerSelector that spreads keys over the
// servers by consistent hashing, in the ketama layout (libketama,
// twemproxy): each server owns 160 points on a ring of 32-bit hashes, the
// four little-endian words of MD5("host:port-i") for i = 0..39, and a key
// belongs to the server owning the first point at or after the key's hash
// (the first little-endian word of MD5(key)), wrapping around. A server
// listed n times has weight n: 160×n points (i = 0..40n-1), so about n
// times the share of keys.
//
// When a server is added to N servers, only the keys whose hash now falls
// on the new server's points move, about 1/(N+1) of them, and all of them
// to the new server; when one is removed, only its own keys move, spread
// over the others. gomemcache's default selector (SelectorModulo) moves
// about N/(N+1) of the keys instead.
//
// Points are computed from the addresses as written (not as resolved), so
// every process given the same address strings builds the same ring, and
// the order of the list does not matter. Ties between points of different
// servers are broken by the address string.
//
// PickServer is a binary search over the points (MD5 of the key, no
// allocation for keys up to 250 bytes). A KetamaSelector is safe for
// concurrent use; SetServers replaces the ring atomically.
type KetamaSelector struct {
	ring atomic.Pointer[ketamaRing]
}

// ketamaRing is one immutable set of servers and their points.
type ketamaRing struct {
	points  []uint32   // sorted
	owners  []uint32   // owners[i]: index in servers of the owner of points[i]
	servers []net.Addr // distinct servers, in the order first listed
	names   []string   // the address strings, parallel to servers
}

// NewKetamaSelector returns a consistent-hashing selector for servers
// ("host:port", or a Unix socket path containing a slash). Addresses are
// resolved as gomemcache's ServerList resolves them; an address that does
// not resolve is an error, and so is an empty list (ErrNoServers).
func NewKetamaSelector(servers ...string) (*KetamaSelector, error) {
	s := new(KetamaSelector)
	if err := s.SetServers(servers...); err != nil {
		return nil, err
	}
	return s, nil
}

// SetServers replaces the selector's servers, safely while it is in use.
// On error nothing changes.
func (s *KetamaSelector) SetServers(servers ...string) error {
	r, err := newKetamaRing(servers)
	if err != nil {
		return err
	}
	s.ring.Store(r)
	return nil
}

func newKetamaRing(servers []string) (*ketamaRing, error) {
	if len(servers) == 0 {
		return nil, fmt.Errorf("%w: a ketama selector needs at least one server", ErrNoServers)
	}
	r := &ketamaRing{}
	weights := map[string]int{}
	for _, name := range servers {
		name = strings.TrimSpace(name)
		if weights[name] == 0 {
			addr, err := resolveAddr(name)
			if err != nil {
				return nil, fmt.Errorf("memcache: ketama selector: server %q: %w", name, err)
			}
			r.servers = append(r.servers, addr)
			r.names = append(r.names, name)
		}
		weights[name]++
	}
	if len(r.servers) > 1<<24 {
		return nil, fmt.Errorf("memcache: ketama selector: %d servers are too many", len(r.servers))
	}
	type point struct {
		hash  uint32
		owner uint32
	}
	total := 0
	for _, w := range weights {
		total += w * KetamaPointsPerServer
	}
	pts := make([]point, 0, total)
	buf := make([]byte, 0, 64)
	for owner, name := range r.names {
		hashes := weights[name] * KetamaPointsPerServer / KetamaPointsPerHash
		for i := range hashes {
			buf = strconv.AppendInt(append(append(buf[:0], name...), '-'), int64(i), 10)
			d := md5.Sum(buf)
			for h := range KetamaPointsPerHash {
				pts = append(pts, point{binary.LittleEndian.Uint32(d[h*4:]), uint32(owner)})
			}
		}
	}
	slices.SortFunc(pts, func(a, b point) int {
		if c := cmp.Compare(a.hash, b.hash); c != 0 {
			return c
		}
		return strings.Compare(r.names[a.owner], r.names[b.owner])
	})
	r.points = make([]uint32, len(pts))
	r.owners = make([]uint32, len(pts))
	for i, p := range pts {
		r.points[i], r.owners[i] = p.hash, p.owner
	}
	return r, nil
}

// resolveAddr resolves a server address as gomemcache's ServerList does:
// a name containing a slash is a Unix socket path, anything else
// host:port over TCP.
func resolveAddr(name string) (net.Addr, error) {
	if strings.Contains(name, "/") {
		a, err := net.ResolveUnixAddr("unix", name)
		if err != nil {
			return nil, err
		}
		return staticAddr{network: a.Network(), str: a.String()}, nil
	}
	a, err := net.ResolveTCPAddr("tcp", name)
	if err != nil {
		return nil, err
	}
	return staticAddr{network: a.Network(), str: a.String()}, nil
}

// staticAddr is a resolved address with its strings computed once
// (gomemcache calls String on every request).
type staticAddr struct{ network, str string }

func (a staticAddr) Network() string { return a.network }
func (a staticAddr) String() string  { return a.str }

// ketamaHash is the ring position of key: the first little-endian 32-bit
// word of its MD5 digest.
func ketamaHash(key string) uint32 {
	var d [md5.Size]byte
	switch {
	case len(key) <= 64: // region keys: 40 hex digits, "_lock" + 40 for locks
		var buf [64]byte
		d = md5.Sum(buf[:copy(buf[:], key)])
	case len(key) <= MaxKeyLength:
		var buf [MaxKeyLength]byte
		d = md5.Sum(buf[:copy(buf[:], key)])
	default:
		d = md5.Sum([]byte(key))
	}
	return binary.LittleEndian.Uint32(d[:4])
}

// PickServer returns the server that holds key.
func (s *KetamaSelector) PickServer(key string) (net.Addr, error) {
	r := s.ring.Load()
	if r == nil {
		return nil, gomemcache.ErrNoServers
	}
	if len(r.servers) == 1 {
		return r.servers[0], nil
	}
	i, _ := slices.BinarySearch(r.points, ketamaHash(key))
	if i == len(r.points) {
		i = 0 // past the last point: wrap around to the first
	}
	return r.servers[r.owners[i]], nil
}

// Each calls f for every server, once each, in the order first listed,
// stopping at the first error.
func (s *KetamaSelector) Each(f func(net.Addr) error) error {
	r := s.ring.Load()
	if r == nil {
		return nil
	}
	for _, a := range r.servers {
		if err := f(a); err != nil {
			return err
		}
	}
	return nil
}

// Servers returns the distinct server addresses, as given, in the order
// first listed.
func (s *KetamaSelector) Servers() []string {
	r := s.ring.Load()
	if r == nil {
		return nil
	}
	return slices.Clone(r.names)
}

// Points returns the number of points on the ring (160 per unit of
// weight).
func (s *KetamaSelector) Points() int {
	r := s.ring.Load()
	if r == nil {
		return 0
	}
	return len(r.points)
}

var _ gomemcache.ServerSelector = (*KetamaSelector)(nil)
