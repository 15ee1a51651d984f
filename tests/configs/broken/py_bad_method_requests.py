"""an unsupported http_method label."""
from gradual import request


@request(name="r1", http_method="fetch")
def r1():
    return 1
