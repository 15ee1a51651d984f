"""Helpers shared by the test-suite: real processes and sockets on loopback, never mocks."""
