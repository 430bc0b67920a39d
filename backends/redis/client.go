package redis

import (
	"context"
	"crypto/tls"
	"net"
	"time"

	goredis "github.com/redis/go-redis/v9"
)

// defaultDialTimeout bounds connecting when neither socket_connect_timeout
// nor socket_timeout is set. redis-py then waits as long as the operating
// system lets a connect take (minutes for an unreachable host); go-redis's
// default of 5s is kept instead.
const defaultDialTimeout = 5 * time.Second

// dialTimeout is redis-py's connect timeout: socket_connect_timeout, else
// socket_timeout.
func (cc connConfig) dialTimeout() time.Duration {
	switch {
	case cc.connectTimeout > 0:
		return cc.connectTimeout
	case cc.socketTimeout > 0:
		return cc.socketTimeout
	}
	return defaultDialTimeout
}

// ioTimeout is socket_timeout as go-redis takes it: -1 for none.
func (cc connConfig) ioTimeout() time.Duration {
	if cc.socketTimeout > 0 {
		return cc.socketTimeout
	}
	return -1
}

// dialer connects as redis-py's connections do: with TCP keep-alive only
// when socket_keepalive is set (with the operating system's timing unless
// socket_keepalive_options say otherwise), and TLS when ssl is set.
func (cc connConfig) dialer() func(ctx context.Context, network, addr string) (net.Conn, error) {
	d := &net.Dialer{Timeout: cc.dialTimeout()}
	if cc.keepalive {
		kc := net.KeepAliveConfig{Enable: true, Idle: -1, Interval: -1, Count: -1}
		if cc.keepaliveConfig.Idle > 0 {
			kc.Idle = cc.keepaliveConfig.Idle
		}
		if cc.keepaliveConfig.Interval > 0 {
			kc.Interval = cc.keepaliveConfig.Interval
		}
		if cc.keepaliveConfig.Count > 0 {
			kc.Count = cc.keepaliveConfig.Count
		}
		d.KeepAliveConfig = kc
	} else {
		d.KeepAlive = -1
	}
	tlsConfig := cc.tls
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		conn, err := d.DialContext(ctx, network, addr)
		if err != nil || tlsConfig == nil {
			return conn, err
		}
		cfg := tlsConfig
		if cfg.ServerName == "" && network != "unix" {
			cfg = cfg.Clone()
			cfg.ServerName, _, _ = net.SplitHostPort(addr)
		}
		tc := tls.Client(conn, cfg)
		if err := tc.HandshakeContext(ctx); err != nil {
			_ = conn.Close()
			return nil, err
		}
		return tc, nil
	}
}

// options returns the go-redis options of a connection to one server.
func (cc connConfig) options(network, addr string) *goredis.Options {
	return &goredis.Options{
		Network:               network,
		Addr:                  addr,
		Dialer:                cc.dialer(),
		Username:              cc.username,
		Password:              cc.password,
		DB:                    cc.db,
		ClientName:            cc.clientName,
		DialTimeout:           cc.dialTimeout(),
		DialerRetries:         1, // one attempt per dial, as redis-py
		ReadTimeout:           cc.ioTimeout(),
		WriteTimeout:          cc.ioTimeout(),
		ContextTimeoutEnabled: true, // a caller's deadline reaches the socket
		MaxRetries:            -1,   // redis-py does not retry failed commands
		PoolSize:              cc.poolSize,
	}
}

// newClient builds the client the configuration names.
func (c *config) newClient() goredis.UniversalClient {
	switch {
	case c.client != nil:
		return c.client
	case c.backend == SentinelName:
		return c.newFailoverClient()
	case c.backend == ClusterName:
		return c.newClusterClient()
	}
	return goredis.NewClient(c.conn.options(c.network, c.addr))
}

func (c *config) newFailoverClient() goredis.UniversalClient {
	o := c.conn.options("tcp", "")
	return goredis.NewFailoverClient(&goredis.FailoverOptions{
		MasterName:            c.service,
		SentinelAddrs:         c.sentinels,
		SentinelUsername:      c.sentinel.username,
		SentinelPassword:      c.sentinel.password,
		Dialer:                o.Dialer,
		Username:              o.Username,
		Password:              o.Password,
		DB:                    o.DB,
		ClientName:            o.ClientName,
		DialTimeout:           o.DialTimeout,
		DialerRetries:         o.DialerRetries,
		ReadTimeout:           o.ReadTimeout,
		WriteTimeout:          o.WriteTimeout,
		ContextTimeoutEnabled: o.ContextTimeoutEnabled,
		MaxRetries:            o.MaxRetries,
		PoolSize:              o.PoolSize,
	})
}

func (c *config) newClusterClient() goredis.UniversalClient {
	o := c.conn.options("tcp", "")
	return goredis.NewClusterClient(&goredis.ClusterOptions{
		Addrs:                 c.nodes,
		ReadOnly:              c.readFromReplicas,
		RouteRandomly:         c.readFromReplicas,
		Dialer:                o.Dialer,
		Username:              o.Username,
		Password:              o.Password,
		ClientName:            o.ClientName,
		DialTimeout:           o.DialTimeout,
		DialerRetries:         o.DialerRetries,
		ReadTimeout:           o.ReadTimeout,
		WriteTimeout:          o.WriteTimeout,
		ContextTimeoutEnabled: o.ContextTimeoutEnabled,
		MaxRetries:            o.MaxRetries,
		PoolSize:              o.PoolSize,
	})
}
