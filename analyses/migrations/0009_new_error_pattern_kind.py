"""The alert kind "new error pattern" (issue 21)."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("analyses", "0008_analysisfile_assume_year_override"),
    ]

    operations = [
        migrations.AlterField(
            model_name="alert",
            name="kind",
            field=models.CharField(
                choices=[
                    ("error_rate", "Error rate above"),
                    ("error_count", "Error count above"),
                    ("critical_count", "Critical errors at least"),
                    ("error_type_repeated", "One error type repeated more than"),
                    ("errors_per_hour", "Errors in any one hour above"),
                    ("new_error_pattern", "New error patterns at least"),
                ],
                max_length=32,
            ),
        ),
        migrations.AlterField(
            model_name="alertrule",
            name="kind",
            field=models.CharField(
                choices=[
                    ("error_rate", "Error rate above"),
                    ("error_count", "Error count above"),
                    ("critical_count", "Critical errors at least"),
                    ("error_type_repeated", "One error type repeated more than"),
                    ("errors_per_hour", "Errors in any one hour above"),
                    ("new_error_pattern", "New error patterns at least"),
                ],
                max_length=32,
            ),
        ),
    ]
