"""Python side of the pickle interoperability tests (run by interop_test.go).

    interop.py dump              print {"<protocol>/<name>": hex(pickle.dumps(VALUES[name], protocol))}
                                 for every protocol and value, plus "<protocol>/cv:<name>" for
                                 CachedValue(VALUES[name], META) and "lib/<client>:<name>" for the
                                 bytes the real clients store (python-memcached, pymemcache,
                                 dogpile's BytesBackend serializer)
    interop.py foreign           print {"<protocol>/<type>": hex} for values of types Go refuses
    interop.py check             read {"<protocol>/<name>": hex} written by Go from stdin; print
                                 {"<protocol>/<name>": "ok" | "<what differs>"} after pickle.loads
                                 (cv:<name> must load to an equal CachedValue)

Values compare strictly: same type all the way down (bool is not int), floats bit
for bit (-0.0 is not 0.0, nan equals nan).
"""

import collections
import datetime
import decimal
import io
import json
import math
import pickle
import sys
import types

import memcache
from dogpile.cache.api import BytesBackend, CachedValue
from pymemcache import serde

CT = 1732680000.123456
META = {"ct": CT, "v": 2}

_shared = [1, 2]

VALUES = {
    "str_ascii": "hello",
    "str_nonascii": "h\u00e9llo w\u00f6rld \u20ac \U0001f600 back\\slash new\nline cr\r nul\x00 sub\x1a",
    "str_latin1": "\u00ff\u00e9\u00e0",
    "str_empty": "",
    "str_long": "x" * 300,
    "int_zero": 0,
    "int_small": 42,
    "int_neg": -7,
    "int_255": 255,
    "int_256": 256,
    "int_65536": 65536,
    "int_i32max": 2**31 - 1,
    "int_i32min": -(2**31),
    "int_i64max": 2**63 - 1,
    "int_i64min": -(2**63),
    "int_2_63": 2**63,
    "int_2_70": 2**70,
    "int_neg_2_70": -(2**70),
    "int_huge": 2**2100 + 1,
    "float_1": 1.0,
    "float_1_5": 1.5,
    "float_neg_zero": -0.0,
    "float_1e300": 1e300,
    "float_tiny": 5e-324,
    "float_inf": math.inf,
    "float_nan": math.nan,
    "float_third": 1 / 3,
    "true": True,
    "false": False,
    "none": None,
    "list": [1, "a", None, 2.5, True],
    "list_empty": [],
    "list_big": list(range(2500)),
    "tuple": (1, "a"),
    "tuple_empty": (),
    "tuple1": (1,),
    "tuple3": (1, 2, 3),
    "tuple4": (1, 2, 3, 4),
    "dict_empty": {},
    "dict_int_keys": {1: "a", 2: "b"},
    "dict_big": {str(i): i for i in range(1500)},
    "nested": {"a": {"b": [1, {"c": (2, 3)}]}, "d": [], "e": {"f": None}},
    "bytes": b"\x00\xff\x80abc\\\n",
    "bytes_empty": b"",
    "bytes_utf8": "\u00e9".encode(),
    "bytes_long": bytes(range(256)) * 2,
    "bytearray": bytearray(b"\x01\x02\xff"),
    "bytearray_empty": bytearray(),
    "set": {1, 2, 3},
    "set_empty": set(),
    "frozenset": frozenset({"a", "b"}),
    "shared_list": {"a": _shared, "b": _shared},
    "user": {"name": "ada", "id": 42, "roles": ["a", "b"]},
}

# Values Go cannot write (it has no tuple or set type; bytearray comes back as bytes).
GO_CANNOT_WRITE = {"set", "set_empty", "frozenset"}


def go_shape(v):
    """The value Go writes for v: tuples become lists, bytearrays bytes."""
    if isinstance(v, (list, tuple)):
        return [go_shape(x) for x in v]
    if isinstance(v, dict):
        return {k: go_shape(x) for k, x in v.items()}
    if isinstance(v, bytearray):
        return bytes(v)
    return v


def same(a, b, path="$"):
    """None when a and b are the same, else a description of the first difference."""
    if type(a) is not type(b):
        return "%s: %s %r is not %s %r" % (path, type(a).__name__, a, type(b).__name__, b)
    if isinstance(a, float):
        if math.isnan(a) and math.isnan(b):
            return None
        if a != b or math.copysign(1, a) != math.copysign(1, b):
            return "%s: %r != %r" % (path, a, b)
        return None
    if isinstance(a, (list, tuple)):
        if len(a) != len(b):
            return "%s: length %d != %d" % (path, len(a), len(b))
        for i, (x, y) in enumerate(zip(a, b)):
            d = same(x, y, "%s[%d]" % (path, i))
            if d:
                return d
        return None
    if isinstance(a, dict):
        if set(a) != set(b):
            return "%s: keys %r != %r" % (path, sorted(map(repr, a)), sorted(map(repr, b)))
        for k in a:
            d = same(a[k], b[k], "%s[%r]" % (path, k))
            if d:
                return d
        return None
    if isinstance(a, CachedValue):
        return same(a.payload, b.payload, path + ".payload") or same(dict(a.metadata), dict(b.metadata), path + ".metadata")
    if a != b:
        return "%s: %r != %r" % (path, a, b)
    return None


def dump():
    out = {}
    for p in range(pickle.HIGHEST_PROTOCOL + 1):
        for name, v in VALUES.items():
            out["%d/%s" % (p, name)] = pickle.dumps(v, protocol=p).hex()
            out["%d/cv:%s" % (p, name)] = pickle.dumps(CachedValue(v, META), protocol=p).hex()
    mc = memcache.Client([])  # pickleProtocol=0, as dogpile.cache.memcached leaves it
    pm = serde.pickle_serde
    for name in ("user", "nested", "str_nonascii", "bytes", "int_2_70"):
        cv = CachedValue(VALUES[name], META)
        flags, _, data = mc._val_to_store_info(cv, 0)
        assert flags == memcache.Client._FLAG_PICKLE, flags
        out["lib/python-memcached:" + name] = data.hex()
        data, flags = pm.serialize("k", cv)
        assert flags == serde.FLAG_PICKLE, flags
        out["lib/pymemcache:" + name] = data.hex()
        out["lib/dogpile-serializer:" + name] = BytesBackend.serializer(VALUES[name]).hex()
    json.dump(out, sys.stdout)


class Point:
    def __init__(self, x):
        self.x = x


FOREIGN = {
    "decimal.Decimal": decimal.Decimal("1.5"),
    "datetime.datetime": datetime.datetime(2024, 1, 1, 12, 0),
    "complex": complex(1, 2),
    "collections.OrderedDict": collections.OrderedDict(a=1),
    "types.SimpleNamespace": types.SimpleNamespace(a=1),
    "__main__.Point": Point(1),
    "nested decimal.Decimal": {"price": [decimal.Decimal("9.99")]},
    "set of bytes": {b"a", b"b"},
    "dict with tuple keys": {(1, 2): "a"},
}


def foreign():
    out = {}
    for p in range(pickle.HIGHEST_PROTOCOL + 1):
        for name, v in FOREIGN.items():
            out["%d/%s" % (p, name)] = pickle.dumps(v, protocol=p).hex()
            out["%d/cv:%s" % (p, name)] = pickle.dumps(CachedValue(v, META), protocol=p).hex()
    json.dump(out, sys.stdout)


def check():
    results = {}
    for key, hexdata in json.load(sys.stdin).items():
        proto, name = key.split("/", 1)
        data = bytes.fromhex(hexdata)
        try:
            if name.startswith("cv:"):
                got = memcache.Client([]).unpickler(io.BytesIO(data)).load()
                if proto == "5":
                    got = serde.pickle_serde.deserialize("k", data, serde.FLAG_PICKLE)
                want = CachedValue(go_shape(VALUES[name[3:]]), META)
                if not isinstance(got, CachedValue):
                    results[key] = "not a CachedValue: %r" % (got,)
                    continue
                if abs(got.metadata["ct"] - CT) > 1e-6:
                    results[key] = "ct %r != %r" % (got.metadata["ct"], CT)
                    continue
                got = CachedValue(got.payload, dict(got.metadata, ct=CT))
            else:
                got = pickle.loads(data)
                want = go_shape(VALUES[name])
            results[key] = same(got, want) or "ok"
        except Exception as e:  # report, don't stop: the Go test names every failure
            results[key] = "%s: %s" % (type(e).__name__, e)
    json.dump(results, sys.stdout)


if __name__ == "__main__":
    {"dump": dump, "foreign": foreign, "check": check}[sys.argv[1]]()
