# Test corpus: the original framework's file, from Gradual-Load-Testing/gradual custom_request_support:examples/fastapi_app/custom_requests.py.
# Copied unchanged except: URLs moved to 127.0.0.1 (port from CORPUS_PORT, hence `import os`).
"""
Example custom request functions using the @request and @on_call_completion decorators.

This file demonstrates how to create custom request functions that can be loaded
by the gradual stress testing framework.
"""

import os
import time

import requests

from gradual.configs.decorators import on_call_completion, request


@request(
    name="custom_get_request",
    url=f"http://127.0.0.1:{os.environ['CORPUS_PORT']}/api/items",
    http_method="get",
    expected_response_time=1.0,
)
def get_items():
    """Custom GET request to fetch items."""
    response = requests.get(f"http://127.0.0.1:{os.environ['CORPUS_PORT']}/api/items")
    return response.json()


@on_call_completion(name="custom_get_request")
def get_items_complete():
    """Completion callback for get_items request."""
    print("GET items request completed")
    # Here you could persist stats to database
    # persist_stats()


@request(
    name="custom_post_request",
    url=f"http://127.0.0.1:{os.environ['CORPUS_PORT']}/api/items",
    http_method="post",
    params={"name": "test_item", "description": "Test item for stress testing"},
    expected_response_time=2.0,
)
def create_item():
    """Custom POST request to create an item."""
    data = {"name": "test_item", "description": "Test item for stress testing"}
    response = requests.post(f"http://127.0.0.1:{os.environ['CORPUS_PORT']}/api/items", json=data)
    return response.json()


@on_call_completion(name="custom_post_request")
def create_item_complete():
    """Completion callback for create_item request."""
    print("POST create item request completed")
    # Here you could persist stats to database
    # persist_stats()


@request(
    name="custom_websocket_request",
    url=f"ws://127.0.0.1:{os.environ['CORPUS_PORT']}/ws",
    expected_response_time=0.5,
    type="websocket",
)
def websocket_connection():
    """Custom WebSocket connection request."""
    # This would be implemented with a WebSocket client
    # For now, just simulate a connection
    time.sleep(0.1)
    return {"status": "connected"}


@on_call_completion(name="custom_websocket_request")
def websocket_complete():
    """Completion callback for websocket_connection request."""
    print("WebSocket connection request completed")
    # Here you could persist stats to database
    # persist_stats()


@request(name="simple_function", expected_response_time=0.1)
def simple_function():
    """A simple function without HTTP request."""
    # This could be any custom logic
    result = {"message": "Hello from custom function", "timestamp": time.time()}
    return result


@on_call_completion(name="simple_function")
def simple_function_complete():
    """Completion callback for simple_function."""
    print("Simple function completed")
    # Here you could persist stats to database
    # persist_stats()
