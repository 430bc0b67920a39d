"""The Python service's cache: one dogpile.cache region on memcached."""
from dogpile.cache import make_region

region = make_region()


def configure(url):
    region.configure(
        "dogpile.cache.memcached",
        expiration_time=600,
        arguments={"url": url, "distributed_lock": True, "lock_timeout": 30},
    )


@region.cache_on_arguments()
def get_user(user_id):
    # The expensive call both services cache under "svc.users:get_user|<id>".
    return {"id": user_id, "name": "Ada Lovelace", "roles": ["admin", "reader"]}
