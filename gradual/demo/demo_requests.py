"""Custom Python requests of the demo: a user journey written as plain functions."""

import os

from gradual import on_call_completion, request

BASE = os.environ.get("GRADUAL_TARGET", "http://127.0.0.1:8080")
slow_calls = 0


@request(name="search", url=f"{BASE}/products", http_method="get", expected_response_time=0.05)
def search(ctx):
    # ctx.host is --host (GRADUAL_HOST) when one was given: the labelled url above is moved there by gradual.
    return ctx.session.get(f"{ctx.host or BASE}/products", params={"q": f"item-{ctx.iteration % 10}"})


@request(name="checkout", url=f"{BASE}/slow", http_method="get", expected_response_time=0.02)
def checkout(ctx):
    """A slower endpoint (25 ms), so the report shows requests outside their expected time."""
    return ctx.session.get(f"{ctx.host or BASE}/slow", params={"ms": 25})


@on_call_completion(name="checkout")
def count_slow(record):
    global slow_calls
    if record.response_time > record.expected_response_time * 1e9:
        slow_calls += 1
