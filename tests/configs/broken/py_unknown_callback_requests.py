"""a callback for a request that does not exist."""
from gradual import on_call_completion, request


@request(name="get_user")
def get_user():
    return 1


@on_call_completion(name="get_usr")
def done(record):
    pass
