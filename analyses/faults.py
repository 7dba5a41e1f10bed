"""Fault injection for the chaos tests (DESIGN §9), off unless LOGPLATFORM_FAULTS is set.

`LOGPLATFORM_FAULTS=kill-worker:<text>` makes the worker SIGKILL itself when an
analysis has a file whose name contains <text> — a "poison input" that no amount
of retrying can get through. Never set it in production.
"""

from __future__ import annotations

import logging
import os
import signal

from analyses.models import Analysis

logger = logging.getLogger(__name__)


def maybe_crash(analysis: Analysis) -> None:
    spec = os.environ.get("LOGPLATFORM_FAULTS", "")
    for fault in filter(None, spec.split(",")):
        kind, _, needle = fault.partition(":")
        if (
            kind == "kill-worker"
            and needle
            and analysis.files.filter(original_name__contains=needle).exists()
        ):
            logger.error("fault injection: killing worker %s on analysis %s", os.getpid(), analysis.pk)
            os.kill(os.getpid(), signal.SIGKILL)
