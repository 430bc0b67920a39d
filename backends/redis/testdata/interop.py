"""The Python side of the Redis interoperability tests.

Reads a JSON request (one line) on stdin, configures a dogpile.cache region as the
request says and does one action with it, printing a JSON answer on stdout.
Run by /usr/bin/python3 with Debian's python3-dogpile.cache (1.1.8) and
python3-redis (4.3.4).

dogpile.cache 1.1.8 has no redis_cluster backend; RedisClusterBackend below
is a small subclass of its RedisBackend on redis.cluster.RedisCluster, as
later dogpile.cache releases define it (with the non-atomic multi-key
commands, since a plain MGET across slots fails on a cluster).
"""

import json
import sys
import time

import redis.cluster
from dogpile.cache import make_region, register_backend
from dogpile.cache.api import NO_VALUE
from dogpile.cache.backends.redis import RedisBackend


class RedisClusterBackend(RedisBackend):
    def __init__(self, arguments):
        arguments = dict(arguments)
        self.startup_nodes = arguments.pop("startup_nodes", None)
        super().__init__(arguments)

    def _create_client(self):
        nodes = [redis.cluster.ClusterNode(h, p) for h, p in self.startup_nodes]
        kwargs = dict(self.connection_kwargs)
        if self.socket_timeout:
            kwargs["socket_timeout"] = self.socket_timeout
        self.writer_client = redis.cluster.RedisCluster(startup_nodes=nodes, **kwargs)
        self.reader_client = self.writer_client

    def get_serialized_multi(self, keys):
        if not keys:
            return []
        values = self.reader_client.mget_nonatomic(keys)
        return [v if v is not None else NO_VALUE for v in values]

    def set_serialized_multi(self, mapping):
        if not self.redis_expiration_time:
            self.writer_client.mset_nonatomic(mapping)
        else:
            for key, value in mapping.items():
                self.writer_client.setex(key, self.redis_expiration_time, value)


register_backend("dogpile.cache.redis_cluster", "__main__", "RedisClusterBackend")


def values(json_mode):
    """The values both sides write and expect (see interop_test.go)."""
    v = {
        "str": "h\u00e9llo w\u00f6rld \u2713 \u65e5\u672c\u8a9e",
        "empty": "",
        "int": 42,
        "neg": -7,
        "big": 2**70,
        "negbig": -(2**65),
        "float": 1.5,
        "tenth": 0.1,
        "true": True,
        "false": False,
        "none": None,
        "list": [1, "two", 3.5, None, True],
        "nested": {"a": {"b": [1, 2, {"c": "d"}]}, "e": [], "\u043a\u043b\u044e\u0447": "\u0437\u043d\u0430\u0447\u0435\u043d\u0438\u0435"},
    }
    if not json_mode:
        v["bytes"] = b"\x00\xffbin"
    return v


def same(a, b):
    """Equal with equal types all the way down (True is not 1, 1 is not 1.0)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    return a == b


def make(req):
    kwargs = {}
    if req.get("serializer") == "json":
        kwargs = dict(serializer=lambda v: json.dumps(v).encode(), deserializer=json.loads)
    region = make_region(**kwargs)
    arguments = dict(req["arguments"])
    for k in ("sentinels", "startup_nodes"):
        if k in arguments:
            arguments[k] = [tuple(x) for x in arguments[k]]
    config = {}
    if req.get("expiration_time"):
        config["expiration_time"] = req["expiration_time"]
    return region.configure(req["backend"], arguments=arguments, **config)


def main():
    # The request is the first line of stdin; lock-hold reads another.
    req = json.loads(sys.stdin.readline())
    region = make(req)
    action = req["action"]
    prefix = req.get("prefix", "")
    json_mode = req.get("serializer") == "json"

    if action == "write":
        vals = values(json_mode)
        for name, v in vals.items():
            region.set(prefix + name, v)
        region.set_multi({prefix + "multi:" + n: v for n, v in vals.items()})
        print(json.dumps({"written": sorted(vals)}))

    elif action == "read":
        # Read what Go wrote: get one by one, and get_multi.
        vals = values(json_mode)
        names = sorted(vals)
        bad = []
        for n in names:
            got = region.get(prefix + n)
            if got is NO_VALUE or not same(got, vals[n]):
                bad.append("get %s: %r, want %r" % (n, got, vals[n]))
        multi = region.get_multi([prefix + "multi:" + n for n in names])
        for n, got in zip(names, multi):
            if got is NO_VALUE or not same(got, vals[n]):
                bad.append("get_multi %s: %r, want %r" % (n, got, vals[n]))
        print(json.dumps({"mismatches": bad}))

    elif action == "stampede":
        # Wait for the common start, then get_or_create one key; the
        # creator counts its runs in Redis.
        client = region.backend.writer_client
        counter, who = req["counter"], req["who"]

        def create():
            client.incr(counter)
            time.sleep(req["create_seconds"])
            return "created by " + who

        time.sleep(max(0.0, req["start_at"] - time.time()))
        v = region.get_or_create(req["key"], create)
        print(json.dumps({"value": v}))

    elif action == "lock-probe":
        # Try the key's dogpile lock once; release it if taken.
        m = region.backend.get_mutex(req["key"])
        locked_before = m.locked()
        got = m.acquire(False)
        if got:
            m.release()
        print(json.dumps({"acquired": bool(got), "locked": bool(locked_before)}))

    elif action == "lock-hold":
        # Take the key's lock, report, then release it when told (a line on
        # stdin after the request).
        m = region.backend.get_mutex(req["key"])
        got = m.acquire(req.get("wait", False))
        print(json.dumps({"acquired": bool(got)}), flush=True)
        sys.stdin.readline()
        err = None
        try:
            m.release()
        except Exception as e:  # LockNotOwnedError, LockError
            err = "%s: %s" % (type(e).__name__, e)
        print(json.dumps({"released": err is None, "error": err}), flush=True)

    else:
        raise SystemExit("unknown action %r" % action)


if __name__ == "__main__":
    main()
