"""a request name the Python file does not define."""
from gradual import request


@request(name="get_user")
def get_user():
    return 1
