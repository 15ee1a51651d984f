"""@on_call_completion used bare."""
from gradual import on_call_completion, request


@request(name="r1")
def r1():
    return 1


@on_call_completion
def done(record):
    pass
