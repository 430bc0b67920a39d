package metrics

import "github.com/dogpile-go/dogpile/region"

// EvictionReporter is implemented by backends that evict values on their
// own to stay within a size bound, such as the memory backend configured
// with max_size (memory.Bounded). A Proxy finds it under the layers it
// wraps (region.BackendAs) when it is installed, and exports what it
// reports as <namespace>_evictions_total{region}, counted per region name
// like hits and misses: a replaced backend's successor adds to the same
// count.
type EvictionReporter interface {
	// ReportEvictions makes the backend call f with the number of values
	// it evicts, each time it evicts some, until it is called again (a
	// backend reports to one function at a time: in a chain with several
	// metrics proxies, to the outermost). f is quick and safe for
	// concurrent use.
	ReportEvictions(f func(n uint64))
}

// watchEvictions has the EvictionReporter under b, if any, report to the
// proxy's series.
func (p *Proxy) watchEvictions(b region.Backend) {
	er, ok := region.BackendAs[EvictionReporter](b)
	if !ok {
		return
	}
	if s := p.s.Load(); s != nil {
		s.bounded.Store(true)
	}
	er.ReportEvictions(p.addEvictions)
}

// markBounded exports s's evictions series when the chain below the proxy
// has an EvictionReporter (for a series made after SetProxied).
func (p *Proxy) markBounded(s *series) {
	if p.Proxied == nil {
		return
	}
	if _, ok := region.BackendAs[EvictionReporter](p.Proxied); ok {
		s.bounded.Store(true)
	}
}

// addEvictions counts n evictions for the proxy's region.
func (p *Proxy) addEvictions(n uint64) {
	p.series().evictions.Add(n)
}
