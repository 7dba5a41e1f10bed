"""django-q2 task entry points: fetch ids, call services. No logic here.

Their dotted paths (`analyses.tasks.run_analysis`, …) are stored in queued rows
and schedules: keep them stable.
"""

from __future__ import annotations

from analyses.services.reaper import leases_reap


def run_analysis(analysis_id: int) -> str:
    # Imported here: the execute service loads pyspark, which only a worker needs.
    from analyses.services.execute import analysis_execute

    return analysis_execute(analysis_id=analysis_id)


def reap_leases() -> dict[str, int]:
    return leases_reap()


# The two below run on the notifications cluster only (analyses.notifications).


def deliver_notification(delivery_id: int) -> str:
    from analyses.notifications import delivery_attempt

    return delivery_attempt(delivery_id=delivery_id)


def notifications_dispatch_due() -> int:
    from analyses.notifications import deliveries_dispatch_due

    return deliveries_dispatch_due()
