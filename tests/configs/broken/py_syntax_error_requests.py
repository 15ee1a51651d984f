"""a Python request file with a syntax error."""
from gradual import request


@request(name="r1")
def r1()
    return 1
