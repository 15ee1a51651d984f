"""a request file that raises while it is imported."""
from gradual import request

SETTINGS = {"base": "http://127.0.0.1:8080"}
BASE = SETTINGS["host"]


@request(name="r1")
def r1():
    return BASE
