"""Helpers shared across the app test packages: fresh interpreters, a live server, the
schemathesis runner and the insider world of the attack tests."""
