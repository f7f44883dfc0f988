"""The real-server suite (a package, so its conftest does not shadow tests/python/conftest.py)."""
