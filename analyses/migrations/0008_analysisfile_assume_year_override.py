"""A file's own year for its year-less timestamps, set by a re-run (issue 22)."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("analyses", "0007_delivery_schedule"),
    ]

    operations = [
        migrations.AddField(
            model_name="analysisfile",
            name="assume_year_override",
            field=models.PositiveSmallIntegerField(blank=True, null=True),
        ),
    ]
