"""WSGI entry point (gunicorn logplatform.wsgi)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "logplatform.settings")
application = get_wsgi_application()

# Exports stream Arrow batches through this process: its gRPC channels keep their
# default receive window (spark_client.server.session.WEB_CHANNEL_OPTIONS; Arrow is
# on the system allocator for every process, logplatform.settings).
from spark_client.server.session import WEB_CHANNEL_OPTIONS, set_channel_options  # noqa: E402

set_channel_options(WEB_CHANNEL_OPTIONS)

# Before the first request, so no user waits for imports.
from logplatform.warm_up import warm_up  # noqa: E402

warm_up()
