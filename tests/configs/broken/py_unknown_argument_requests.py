"""a typo in a @request keyword."""
from gradual import request


@request(name="r1", http_methd="post")
def r1():
    return 1
