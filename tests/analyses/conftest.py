"""Fixtures of the analyses tests: local webhook receivers and listeners."""

from tests.analyses.alerting_helpers import allow_loopback, listener, receiver  # noqa: F401
