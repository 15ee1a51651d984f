"""a Python file without any @request."""
def helper():
    return 1
