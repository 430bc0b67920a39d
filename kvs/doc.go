// Package kvs is a Go port of Keystone's key-value store
// (keystone.common.kvs): named stores on top of a region whose values never
// expire, whose keys are mangled (SHA-1 by default), whose reads of absent
// keys fail with ErrNotFound, and whose writes can be guarded by per-key
// locks that time out, in process or across processes (memcached).
//
//	s := kvs.GetKeyValueStore("token", nil)        // same name, same store
//	err := s.Configure("openstack.kvs.Memory")
//	err = s.WithLock(ctx, tokenID, func(l *kvs.Lock) error {
//		return s.Set(ctx, tokenID, token, l)     // ErrLockTimeout once the lock expired
//	})
//	tok, err := kvs.GetAs[Token](ctx, s, tokenID) // errors.Is(err, kvs.ErrNotFound)
//
// As importing Keystone's kvs did, importing the package registers its two
// backends: "openstack.kvs.Memory" (package backends/memory: in process,
// every read an isolated copy) and "openstack.kvs.Memcached" (package
// backends/memcache: memcached servers, locks shared by every process).
// Other region backends can be offered under "openstack.kvs.<Name>" through
// Config.Backends. Package settings, Keystone's [kvs] configuration
// section, are a Config installed with SetConfig.
//
// docs/kvs.md maps every Keystone call and option to its Go form.
package kvs

import (
	// openstack.kvs.Memory and openstack.kvs.Memcached, registered by
	// Keystone's kvs on import.
	_ "github.com/dogpile-go/dogpile/backends/memcache"
	_ "github.com/dogpile-go/dogpile/backends/memory"
)
