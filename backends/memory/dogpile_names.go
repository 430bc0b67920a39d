package memory

import "github.com/dogpile-go/dogpile/region"

// The in-process backends under the names dogpile.cache and oslo.cache give
// them, so that a Python configuration (a keystone.conf [cache] section,
// see package oslocache) names them unchanged:
//
//	dogpile.cache.memory         values kept as they are (as "memory")
//	dogpile.cache.memory_pickle  values kept as serialized bytes, isolated copies (as "memory_serialized")
//	dogpile.cache.null           stores nothing (as "null")
//	oslo_cache.dict              oslo.cache's dictionary backend: values kept as they are,
//	                             dropped expiration_time seconds after they were set (0: never)
//
// dogpile.cache.memory and memory_pickle accept dogpile's cache_dict
// argument without effect: a Python dict to keep the values in has no Go
// counterpart. Like the other in-process backends, all four accept
// distributed_lock and lock_timeout without effect.
func init() {
	dogpileMemory := append([]string{"cache_dict"}, lockArguments...)
	region.RegisterBackend("dogpile.cache.memory", func(args region.Arguments) (region.Backend, error) {
		if err := args.CheckKnown("dogpile.cache.memory", dogpileMemory...); err != nil {
			return nil, err
		}
		return New(Options{}), nil
	})
	region.RegisterBackend("dogpile.cache.memory_pickle", func(args region.Arguments) (region.Backend, error) {
		if err := args.CheckKnown("dogpile.cache.memory_pickle", dogpileMemory...); err != nil {
			return nil, err
		}
		return region.NewSerializedBackend(NewBytes(), nil), nil
	})
	region.RegisterBackend("dogpile.cache.null", func(args region.Arguments) (region.Backend, error) {
		if err := args.CheckKnown("dogpile.cache.null", lockArguments...); err != nil {
			return nil, err
		}
		return Null{}, nil
	})
	region.RegisterBackend("oslo_cache.dict", func(args region.Arguments) (region.Backend, error) {
		if err := args.CheckKnown("oslo_cache.dict", append([]string{"expiration_time"}, lockArguments...)...); err != nil {
			return nil, err
		}
		ttl, err := args.Duration("expiration_time", 0)
		if err != nil {
			return nil, err
		}
		return New(Options{TTL: ttl}), nil
	})
}
