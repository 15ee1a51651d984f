"""a request function with two required arguments."""
from gradual import request


@request(name="r1")
def r1(ctx, session):
    return 1
