# Test corpus: the original framework's file, from Gradual-Load-Testing/gradual custom_request_support:docs/plugin_system.md (Complete Custom Request File).
# Copied unchanged except: URLs moved to 127.0.0.1 (port from CORPUS_PORT, hence `import os`).
# custom_requests.py
import os
import time

import requests

from gradual.configs.decorators import on_call_completion, request


@request(
    name="get_user_data",
    url=f"http://127.0.0.1:{os.environ['CORPUS_PORT']}/users",
    http_method="get",
    expected_response_time=1.0
)
def fetch_user_data():
    """Fetch user data from API."""
    response = requests.get(f"http://127.0.0.1:{os.environ['CORPUS_PORT']}/users")
    return response.json()

@on_call_completion(name="get_user_data")
def user_data_completed():
    """Callback when user data request completes."""
    print("User data request completed")
    # Add your completion logic here

@request(
    name="create_user",
    url=f"http://127.0.0.1:{os.environ['CORPUS_PORT']}/users",
    http_method="post",
    params={"name": "Test User", "email": "test@example.com"},
    expected_response_time=2.0
)
def create_new_user():
    """Create a new user."""
    data = {"name": "Test User", "email": "test@example.com"}
    response = requests.post(f"http://127.0.0.1:{os.environ['CORPUS_PORT']}/users", json=data)
    return response.json()

@on_call_completion(name="create_user")
def user_created():
    """Callback when user creation completes."""
    print("User creation completed")

@request(
    name="websocket_connection",
    url=f"ws://127.0.0.1:{os.environ['CORPUS_PORT']}/ws",
    expected_response_time=0.5,
    type="websocket"
)
def connect_websocket():
    """Establish WebSocket connection."""
    # WebSocket implementation would go here
    time.sleep(0.1)  # Simulate connection time
    return {"status": "connected"}

@on_call_completion(name="websocket_connection")
def websocket_connected():
    """Callback when WebSocket connects."""
    print("WebSocket connection established")
