"""A module named svc.mod, whose cached function's keys a Go service shares."""

CALLS = []


def make(region):
    """Decorate fn with region.cache_on_arguments(), as a service would."""

    @region.cache_on_arguments()
    def fn(user_id):
        CALLS.append(user_id)
        return {"id": user_id, "name": "ada", "roles": ["admin", "reader"], "from": "python"}

    return fn


def fn(*args):
    """The plain function whose key generator the tests ask for."""


def fn_ns(*args):
    pass
