package bench

import (
	"math/bits"
	"time"
)

// histogram records latencies in log-linear buckets: exact below 128 ns,
// then 64 buckets per power of two (under 1.6% error), like HdrHistogram
// with two significant digits. It is not safe for concurrent use: each
// worker goroutine keeps its own and they are merged at the end.
type histogram struct {
	counts [numBuckets]uint64
	total  uint64
	max    uint64
	sum    uint64
}

const (
	subBits    = 6
	subCount   = 1 << subBits // buckets per power of two
	linearMax  = 2 * subCount // values below this are exact
	numBuckets = linearMax + (64-subBits-1)*subCount
)

func bucketOf(v uint64) int {
	if v < linearMax {
		return int(v)
	}
	l := bits.Len64(v)               // >= subBits+2
	shift := l - subBits - 1         // >= 1
	mant := int(v>>shift) - subCount // 0 .. subCount-1
	return linearMax + (shift-1)*subCount + mant
}

// bucketLow returns the smallest value that falls in bucket i.
func bucketLow(i int) uint64 {
	if i < linearMax {
		return uint64(i)
	}
	i -= linearMax
	shift := i/subCount + 1
	mant := uint64(i%subCount + subCount)
	return mant << shift
}

// bucketHigh returns the largest value that falls in bucket i.
func bucketHigh(i int) uint64 {
	if i < linearMax {
		return uint64(i)
	}
	return bucketLow(i+1) - 1
}

func (h *histogram) record(d time.Duration) {
	v := uint64(0)
	if d > 0 {
		v = uint64(d)
	}
	h.counts[bucketOf(v)]++
	h.total++
	h.sum += v
	if v > h.max {
		h.max = v
	}
}

func (h *histogram) merge(o *histogram) {
	for i, c := range o.counts {
		h.counts[i] += c
	}
	h.total += o.total
	h.sum += o.sum
	if o.max > h.max {
		h.max = o.max
	}
}

// quantile returns the latency at or below which a fraction q of the
// recordings fall (the upper edge of its bucket, capped at the maximum).
func (h *histogram) quantile(q float64) time.Duration {
	if h.total == 0 {
		return 0
	}
	rank := uint64(q*float64(h.total) + 0.5)
	if rank < 1 {
		rank = 1
	}
	if rank > h.total {
		rank = h.total
	}
	var seen uint64
	for i, c := range h.counts {
		seen += c
		if seen >= rank {
			return time.Duration(min(bucketHigh(i), h.max))
		}
	}
	return time.Duration(h.max)
}

func (h *histogram) mean() time.Duration {
	if h.total == 0 {
		return 0
	}
	return time.Duration(h.sum / h.total)
}

// sparse is a histogram's wire form between worker processes: only the
// buckets in use.
type sparse struct {
	Buckets map[int]uint64 `json:"buckets"`
	Total   uint64         `json:"total"`
	Max     uint64         `json:"max"`
	Sum     uint64         `json:"sum"`
}

func (h *histogram) sparse() sparse {
	s := sparse{Buckets: map[int]uint64{}, Total: h.total, Max: h.max, Sum: h.sum}
	for i, c := range h.counts {
		if c != 0 {
			s.Buckets[i] = c
		}
	}
	return s
}

func (h *histogram) mergeSparse(s sparse) {
	for i, c := range s.Buckets {
		if i >= 0 && i < numBuckets {
			h.counts[i] += c
		}
	}
	h.total += s.Total
	h.sum += s.Sum
	if s.Max > h.max {
		h.max = s.Max
	}
}
