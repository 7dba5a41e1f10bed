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


# The two below run on the notifications cluster only (analyses.notifications).


def deliver_notification(delivery_id: int) -> str:
    from analyses.notifications import delivery_attempt

    return delivery_attempt(delivery_id=delivery_id)


def notifications_dispatch_due() -> int:
    from analyses.notifications import deliveries_dispatch_due

    return deliveries_dispatch_due()
