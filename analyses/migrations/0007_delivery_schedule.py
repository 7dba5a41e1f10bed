"""Notifications are rescheduled, not slept: a due time on each delivery, and a
sweeper on the notifications cluster that sends what is due (issue 18).

Errors stored by the old delivery code told an admin whether an internal port was
open ("Connection refused", "timed out"); they are replaced by the generic text the
delivery now stores.
"""

import re

import django.utils.timezone
from django.db import migrations, models

SWEEPER = "Send due notifications"
UNREACHABLE = "could not deliver: the receiver refused, was unreachable or did not answer in time"
MAIL_FAILED = "could not deliver: the mail server refused the message or was unreachable"
HTTP_STATUS = re.compile(r"HTTP \d{3}")


def create_sweeper(apps, schema_editor):
    Schedule = apps.get_model("django_q", "Schedule")
    Schedule.objects.update_or_create(
        name=SWEEPER,
        defaults={
            "func": "analyses.tasks.notifications_dispatch_due",
            "schedule_type": "I",  # minutes
            "minutes": 1,
            "repeats": -1,
            "cluster": "notifications",
        },
    )


def remove_sweeper(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.filter(name=SWEEPER).delete()


def _generic(channel: str, error: str) -> str:
    if not error or HTTP_STATUS.fullmatch(error):
        return error
    return MAIL_FAILED if channel == "email" else UNREACHABLE


def scrub_errors(apps, schema_editor):
    Delivery = apps.get_model("analyses", "Delivery")
    DeliveryAttempt = apps.get_model("analyses", "DeliveryAttempt")
    for delivery in Delivery.objects.exclude(last_error="").iterator():
        generic = _generic(delivery.channel, delivery.last_error)
        if generic != delivery.last_error:
            Delivery.objects.filter(pk=delivery.pk).update(last_error=generic)
    for attempt in DeliveryAttempt.objects.exclude(error="").select_related("delivery").iterator():
        generic = _generic(attempt.delivery.channel, attempt.error)
        if generic != attempt.error:
            DeliveryAttempt.objects.filter(pk=attempt.pk).update(error=generic)


class Migration(migrations.Migration):
    dependencies = [
        ("analyses", "0006_rollups_without_db_foreign_key"),
        ("django_q", "0018_task_success_index"),
    ]

    operations = [
        migrations.AddField(
            model_name="delivery",
            name="next_attempt_at",
            field=models.DateTimeField(default=django.utils.timezone.now),
        ),
        migrations.AddIndex(
            model_name="delivery",
            index=models.Index(fields=["state", "next_attempt_at"], name="delivery_due"),
        ),
        migrations.RunPython(create_sweeper, remove_sweeper),
        migrations.RunPython(scrub_errors, migrations.RunPython.noop),
    ]
