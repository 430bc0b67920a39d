// Package kvs is a Go port of Keystone's key-value store
// (keystone.common.kvs): named stores on top of a region whose values never
// expire, whose keys are mangled (SHA-1 by default), whose reads of absent
// keys fail with ErrNotFound, and whose writes can be guarded by per-key
// locks that time out, in process or across processes (memcached).
//
//	import _ "github.com/dogpile-go/dogpile/backends/memory" // openstack.kvs.Memory
//
//	s := kvs.GetKeyValueStore("token", nil)        // same name, same store
//	err := s.Configure("openstack.kvs.Memory")
//	err = s.WithLock(ctx, tokenID, func(l *kvs.Lock) error {
//		return s.Set(ctx, tokenID, token, l)     // ErrLockTimeout once the lock expired
//	})
//	tok, err := kvs.GetAs[Token](ctx, s, tokenID) // errors.Is(err, kvs.ErrNotFound)
//
// Keystone's two backends are registered by the backend packages, which a
// program imports for the ones it uses, as it imports database/sql
// drivers: "openstack.kvs.Memory" by backends/memory (in process, every
// read an isolated copy) and "openstack.kvs.Memcached" by backends/memcache
// (memcached servers, locks shared by every process). Package kvs itself
// imports neither, so a program that keeps its store in process links no
// memcached client. Configuring a store with a backend whose package is not
// imported fails with region.ErrPluginNotFound, whose message names the
// import. Other region backends can be offered under
// "openstack.kvs.<Name>" through Config.Backends. Package settings,
// Keystone's [kvs] configuration section, are a Config installed with
// SetConfig.
//
// docs/kvs.md maps every Keystone call and option to its Go form.
package kvs
