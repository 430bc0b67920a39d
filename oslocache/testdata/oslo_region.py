"""Drive an oslo.cache region configured from a keystone.conf.

Usage: /usr/bin/python3 oslo_region.py CONF set KEY JSON
       /usr/bin/python3 oslo_region.py CONF get KEY
       /usr/bin/python3 oslo_region.py CONF memo GROUP ARG

The region is configured as a service does it: oslo.config reads CONF,
oslo_cache.core.configure_cache_region configures a region from
oslo_cache.core.create_region. get prints the value as JSON ("null" when
absent); memo calls get_project(ARG), memoized with
get_memoization_decorator(conf, region, GROUP), and prints its result.
"""
import json
import sys

from dogpile.cache import api
from oslo_cache import core
from oslo_config import cfg

conf = cfg.ConfigOpts()
core.configure(conf)
for group in ("token", "catalog", "resource"):
    conf.register_opts([cfg.BoolOpt("caching", default=True),
                        cfg.IntOpt("cache_time")], group=group)
conf(args=[], default_config_files=[sys.argv[1]])
region = core.configure_cache_region(conf, core.create_region())
op = sys.argv[2]

if op == "set":
    region.set(sys.argv[3], json.loads(sys.argv[4]))
elif op == "get":
    value = region.get(sys.argv[3])
    print(json.dumps(None if value is api.NO_VALUE else value))
elif op == "memo":
    memoize = core.get_memoization_decorator(conf, region, sys.argv[3])

    @memoize
    def get_project(project_id):
        return "python:" + project_id

    print(json.dumps(get_project(sys.argv[4])))
else:
    sys.exit("unknown op " + op)
