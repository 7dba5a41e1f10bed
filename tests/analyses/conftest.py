"""Fixtures of the analyses tests: local webhook receivers and listeners; an
analysis of generated files with stored lines."""

from tests.analyses.alerting_helpers import allow_loopback, listener, receiver  # noqa: F401
from tests.analyses.lines_helpers import generated_analysis  # noqa: F401
