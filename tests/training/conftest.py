"""The training suite uses the session-wide digits_splits fixture of tests/conftest.py."""
