"""WSGI entry point (gunicorn logplatform.wsgi)."""

import os

from django.core.wsgi import get_wsgi_application

from logplatform.memory import fix_mmap_threshold

# Exports stream Arrow batches through this process (logplatform.memory).
fix_mmap_threshold()

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "logplatform.settings")
application = get_wsgi_application()

# Before the first request, so no user waits for imports.
from logplatform.warm_up import warm_up  # noqa: E402

warm_up()
