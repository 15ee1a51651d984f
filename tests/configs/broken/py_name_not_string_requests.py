"""@request(name=123)."""
from gradual import request


@request(name=123)
def r1():
    return 1
