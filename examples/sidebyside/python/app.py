"""The Python half of the side-by-side example (see docs/side-by-side.md).

    python3 app.py URL write   caches get_user(42), as the Python service would
    python3 app.py URL read    prints what the Go program stored under "greeting"
"""
import os
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # also under python3 -I

from svc import users  # noqa: E402

url, action = sys.argv[1].split(","), sys.argv[2]
users.configure(url)
if action == "write":
    print("python cached", users.get_user(42))
elif action == "read":
    print("python read", users.region.get("greeting"))
