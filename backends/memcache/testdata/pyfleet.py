"""Drives a Python dogpile.cache region for the Go interoperability tests.

Reads one JSON request on stdin and prints one JSON answer. Requests:

  {"op": "placement", "servers": [...], "weights": [...] | null, "keys": [...]}
  {"op": "set" | "get", "backend": NAME, "args": {...}, "json": bool,
   "items": {key: python-literal}}
  {"op": "stampede", ...see stampede()}
  {"op": "funckeys", "cases": [[namespace|null, [python-literal args]]]}
  {"op": "cached_call", "backend": NAME, "args": {...}, "arg": int}
  {"op": "lock", "backend": NAME, "args": {...}, "key": KEY, "steps": [...]}
"""
import ast
import json
import os
import sys
import time

sys.dont_write_bytecode = True  # nothing written next to the test data
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "pyfleet"))

from dogpile.cache import make_region  # noqa: E402
from dogpile.cache import util  # noqa: E402


def region_for(req, expiration=None):
    kw = {}
    if req.get("json"):
        kw = dict(serializer=lambda v: json.dumps(v).encode(), deserializer=json.loads)
    return make_region(**kw).configure(req["backend"], expiration_time=expiration, arguments=req["args"])


def same(a, b):
    """Equal values of the same types, recursively (1 == 1.0 == True otherwise)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    return a == b


def placement(req):
    import memcache
    from pymemcache.client.hash import HashClient

    servers = req["servers"]
    weights = req.get("weights")
    pm_servers = [(s, w) for s, w in zip(servers, weights)] if weights else servers
    pm = memcache.Client(pm_servers)
    out = {"python-memcached": [], "pymemcache": []}
    for k in req["keys"]:
        server, _ = pm._get_server(k.encode("utf8"))
        out["python-memcached"].append(pm.servers.index(server))
    if not weights:
        hc = HashClient(servers)
        order = ["%s:%s" % tuple(s.rsplit(":", 1)) for s in servers]
        for k in req["keys"]:
            if any(ord(c) > 127 for c in k):
                out["pymemcache"].append(-1)
                continue
            client = hc._get_client(k)
            out["pymemcache"].append(order.index("%s:%s" % client.server))
    # Store each key through python-memcached, to be found where Go says.
    for k in req.get("store", []):
        pm.set(k.encode("utf8"), "stored-by-python")
    return out


def do_set(req):
    region = region_for(req)
    for k, lit in req["items"].items():
        region.set(k, ast.literal_eval(lit))
    return {}


def do_get(req):
    region = region_for(req)
    out = {}
    for k, lit in req["items"].items():
        v = region.get(k)
        want = ast.literal_eval(lit)
        out[k] = {"ok": same(v, want), "repr": repr(v)}
    return out


def stampede(req):
    """Wait until req["start"], then get_or_create req["key"]; the creator
    counts itself with incr on req["counter"] and sleeps."""
    region = region_for(req, expiration=req["expiration"])
    client = region.backend.client

    def creator():
        client.incr(req["counter"], 1)
        time.sleep(req["sleep"])
        return req["value"]

    time.sleep(max(0, req["start"] - time.time()))
    v = region.get_or_create(req["key"], creator)
    return {"value": v}


def funckeys(req):
    from svc import mod

    out = []
    for ns, args in req["cases"]:
        gen = util.function_key_generator(ns, mod.fn)
        out.append(gen(*[ast.literal_eval(a) for a in args]))
    return out


def cached_call(req):
    from svc import mod

    region = region_for(req)
    fn = mod.make(region)
    v = fn(req["arg"])
    return {"value": v, "calls": len(mod.CALLS), "key": "svc.mod:fn|%d" % req["arg"]}


def lock(req):
    """Run lock steps: acquire (non-blocking), locked, release, sleep."""
    region = region_for(req)
    m = region.backend.get_mutex(req["key"])
    out = []
    for step in req["steps"]:
        if step == "acquire":
            out.append(bool(m.acquire(False)))
        elif step == "locked":
            out.append(bool(m.locked()))
        elif step == "release":
            m.release()
            out.append(True)
        elif step.startswith("wait:"):
            # Wait for a file to appear (the Go side's signal).
            path = step[5:]
            deadline = time.time() + 60
            while not os.path.exists(path) and time.time() < deadline:
                time.sleep(0.02)
            out.append(os.path.exists(path))
        elif step.startswith("signal:"):
            open(step[7:], "w").close()
            out.append(True)
    return out


OPS = {"placement": placement, "set": do_set, "get": do_get, "stampede": stampede,
       "funckeys": funckeys, "cached_call": cached_call, "lock": lock}

if __name__ == "__main__":
    request = json.load(sys.stdin)
    json.dump(OPS[request["op"]](request), sys.stdout)
