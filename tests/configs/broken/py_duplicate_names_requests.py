"""two functions registered under one request name."""
from gradual import request


@request(name="get_user")
def get_user():
    return 1


@request(name="get_user")
def get_user_again():
    return 2
