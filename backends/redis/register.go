package redis

import (
	"errors"

	"github.com/dogpile-go/dogpile/region"
)

func init() {
	for _, name := range []string{Name, SentinelName, ClusterName} {
		region.RegisterBackend(name, factory(name))
	}
}

// factory returns the BackendFactory of the named backend.
func factory(name string) region.BackendFactory {
	return func(args region.Arguments) (region.Backend, error) {
		return New(name, args)
	}
}

// New builds the backend registered as name (Name, SentinelName or
// ClusterName) from its arguments, as the registry does. The result is a
// *region.SerializedBackend storing dogpile.cache's serialized format
// (region.DogpileEnvelope) over a *Store, with the payload pickled unless
// the region has a serializer of its own.
func New(name string, args region.Arguments) (*region.SerializedBackend, error) {
	if _, ok := backendArguments[name]; !ok {
		return nil, &region.ArgumentError{Name: "backend", Value: name, Want: "one of " + Name + ", " + SentinelName + ", " + ClusterName}
	}
	c, err := parseConfig(name, args)
	if err != nil {
		if re, ok := errors.AsType[*region.RefusedArgumentError](err); ok && re.Backend == "" {
			re.Backend = name
		}
		return nil, err
	}
	return region.NewSerializedBackend(newStore(c, c.newClient()), DefaultSerializer()).WithEnvelope(region.DogpileEnvelope), nil
}
