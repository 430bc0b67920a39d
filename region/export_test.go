package region

// InProcessLocks and Flights expose, to this package's tests, how many keys
// have an in-process lock or a flight: both must drop to zero when no call
// is under way.
func (r *Region) InProcessLocks() int { return r.locks.Len() }

func (r *Region) Flights() int { return r.flights.len() }
