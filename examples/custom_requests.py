"""Custom request functions, as in the original documentation, aimed at the local demo target.

Each @request function is one request: the engine calls it once per iteration and times it.
Set GRADUAL_TARGET to aim elsewhere (127.0.0.1 only in tests).
"""

import os

from gradual.configs.decorators import on_call_completion, request

BASE = os.environ.get("GRADUAL_TARGET", "http://127.0.0.1:8080")


@request(name="get_user_data", url=f"{BASE}/users", http_method="get", expected_response_time=1.0)
def fetch_user_data(ctx):
    """Fetch user data with the user's keep-alive session."""
    response = ctx.session.get(f"{BASE}/users", params={"id": ctx.user})
    response.raise_for_status()
    return response


@on_call_completion(name="get_user_data")
def user_data_completed(record):
    """Runs after each call, outside the timed span; the record has the original field names."""
    if record.status_code and record.status_code >= 400:
        print(f"get_user_data failed with {record.status_code}")


@request(
    name="create_user",
    url=f"{BASE}/users",
    http_method="post",
    params={"name": "Test User", "email": "test@example.com"},
    expected_response_time=2.0,
)
def create_new_user(ctx):
    """Create a user; returning the response lets the engine judge its status code."""
    return ctx.session.post(f"{BASE}/users", json=ctx.params)


@request(name="data_processing", expected_response_time=0.5)
def process_data():
    """Custom logic without any I/O is timed too."""
    return {"processed": sum(range(1000))}
