"""django-q2 task entry points: fetch ids, call services. No logic here."""

from __future__ import annotations

from analyses import services


def run_analysis(analysis_id: int) -> str:
    # Reaping here too means a crashed worker's analysis is picked up as soon as
    # any task starts, not only at the next minute of the reaper schedule.
    services.leases_reap()
    return services.analysis_execute(analysis_id=analysis_id)


def reap_leases() -> dict[str, int]:
    return services.leases_reap()


def deliver_notification(delivery_id: int) -> str:
    from analyses.alerting import delivery_run

    return delivery_run(delivery_id=delivery_id).state
