"""Print, as JSON, what oslo.config and oslo.cache read from config files.

Usage: /usr/bin/python3 oslo_read.py FILE...

For each FILE, one JSON line: {"cache": {option: value, ...}} with the
[cache] options the file sets (as oslo.config converts them, after
$substitution), "groups" with the caching/cache_time of [token] and
[catalog], and "region" with the configuration dictionary oslo.cache's
_build_cache_config makes, strings coerced as dogpile.cache's
configure_from_config coerces them (values that JSON cannot hold as their
type's name);
or {"error": "..."} when oslo.config refuses the file.
"""
import json
import sys

from dogpile.cache import util
from oslo_cache import core
from oslo_config import cfg


def read(path):
    conf = cfg.ConfigOpts()
    core.configure(conf)
    for group in ("token", "catalog"):
        conf.register_opts([cfg.BoolOpt("caching", default=True),
                            cfg.IntOpt("cache_time")], group=group)
    conf.register_opts([cfg.StrOpt("host"), cfg.StrOpt("my_ip")])
    try:
        conf(args=[], default_config_files=[path])
        out = {"cache": {}, "groups": {}}
        for opt in core._opts.FILE_OPTIONS["cache"]:
            value = getattr(conf.cache, opt.dest)
            loc = conf.get_location(opt.dest, "cache")
            if loc is not None and loc.location == cfg.Locations.user:
                out["cache"][opt.dest] = value
        for group in ("token", "catalog"):
            g = getattr(conf, group)
            out["groups"][group] = {"caching": g.caching, "cache_time": g.cache_time}
        region = {}
        # What the backend gets: configure_from_config coerces strings.
        built = util.coerce_string_conf(core._build_cache_config(conf))
        for k, v in built.items():
            try:
                json.dumps(v)
                region[k] = v
            except TypeError:
                region[k] = repr(type(v).__name__)
        out["region"] = region
        return out
    except Exception as e:  # the test compares only that both sides refuse
        return {"error": "%s: %s" % (type(e).__name__, e)}


for path in sys.argv[1:]:
    print(json.dumps(read(path), sort_keys=True))
