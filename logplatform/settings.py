"""The one settings module.

Secrets and deployment differences come from the environment (documented in
`.env.example`); product defaults come from `config/config.yaml` (see
`logplatform/config.py`). `DJANGO_ENV=production` turns on the production
hardening and makes a missing secret fatal.
"""

from __future__ import annotations

import datetime as dt
import os
import secrets
from pathlib import Path

import environ

from logplatform import config as product_config

BASE_DIR = Path(__file__).resolve().parent.parent

# Arrow's default allocator (mimalloc) keeps the segments it freed, so a long-lived
# worker's peak memory would grow with the largest result (rollups) it ever wrote;
# the C library's allocator gives them back, and the peak stays flat with the input's
# size (docs/decisions.md). Read by pyarrow when it is first imported, which is after
# the settings in every process.
os.environ.setdefault("ARROW_DEFAULT_MEMORY_POOL", "system")

env = environ.Env()
if (BASE_DIR / ".env").is_file():
    environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DJANGO_ENV = env.str("DJANGO_ENV", default="local")
PRODUCTION = DJANGO_ENV == "production"

_override = env.str("LOGPLATFORM_CONFIG", default="")
LOGPLATFORM = product_config.load(BASE_DIR / "config" / "config.yaml", Path(_override) if _override else None)


def _project_path(value: str) -> Path:
    path = Path(value).expanduser()
    return path if path.is_absolute() else BASE_DIR / path


DATA_DIR = _project_path(env.str("DATA_DIR", default=LOGPLATFORM["paths"]["data_dir"]))
STORAGE_ROOT = _project_path(env.str("STORAGE_ROOT", default=LOGPLATFORM["paths"]["storage_root"]))
REPORTS_DIR = _project_path(env.str("REPORTS_DIR", default=LOGPLATFORM["paths"]["reports_dir"]))
SPARK_CONNECT_URL = env.str("SPARK_CONNECT_URL", default=LOGPLATFORM["spark"]["connect_url"])

DEBUG = env.bool("DEBUG", default=False)


def _secret_key() -> str:
    key = env.str("DJANGO_SECRET_KEY", default="")
    if key:
        return key
    if PRODUCTION:
        raise product_config.ConfigError(
            "DJANGO_SECRET_KEY is not set. Production (DJANGO_ENV=production) needs a long "
            "random secret in the environment, e.g. "
            "python -c 'import secrets; print(secrets.token_urlsafe(50))'."
        )
    # Local convenience: one random key per checkout, kept under data/.
    key_file = DATA_DIR / ".secret_key"
    if not key_file.exists():
        DATA_DIR.mkdir(parents=True, exist_ok=True)
        key_file.write_text(secrets.token_urlsafe(50))
        key_file.chmod(0o600)
    return key_file.read_text().strip()


SECRET_KEY = _secret_key()
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI's files, served by whitenoise (no CDN)
    "analyses",  # before django_q: its `qcluster` command (supervised) replaces django-q2's
    "django_q",
    "axes",
    "csp",
    "accounts",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Outside CSRF: the CSRF check is what first parses an upload's body.
    "analyses.uploads.UploadCleanupMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Refuses a large body of a client that is not signed in. It runs before any
    # view hook, so before CsrfViewMiddleware.process_view parses a page's body.
    "analyses.middleware.AnonymousBodyMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "accounts.middleware.CurrentTeamMiddleware",
    "csp.middleware.CSPMiddleware",
    # Last, as django-axes asks: turns a lockout into its response.
    "axes.middleware.AxesMiddleware",
]

AUTHENTICATION_BACKENDS = [
    # Refuses locked-out (username, address) pairs before the password is checked.
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
# Failed sign-ins lock a (username, address) pair after 5 and a username, from any
# address, after 20 (accounts/throttle.py says how one axes limit gives both).
LOGIN_FAILURES_PER_ADDRESS = 5
LOGIN_FAILURES_PER_USERNAME = 20
AXES_FAILURE_LIMIT = "accounts.throttle.failure_limit"
AXES_COOLOFF_TIME = dt.timedelta(minutes=15)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"], "username"]
AXES_CLIENT_IP_CALLABLE = "accounts.throttle.client_ip"
AXES_LOCKOUT_CALLABLE = "accounts.throttle.lockout_response"
AXES_RESET_ON_SUCCESS = True
AXES_VERBOSE = False

# Content Security Policy: everything from our own origin. Plotly adds <style>
# elements at run time, hence 'unsafe-inline' for styles only; no inline script
# runs anywhere (data for scripts travels in type="application/json" blocks).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'", "data:", "blob:"],
        "font-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}

ROOT_URLCONF = "logplatform.urls"
WSGI_APPLICATION = "logplatform.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "accounts.context_processors.teams",
            ],
        },
    },
]

# Database: SQLite (WAL) under data/ unless DATABASE_URL names another one.
if env.str("DATABASE_URL", default=""):
    DATABASES = {"default": env.db_url("DATABASE_URL")}
    if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
        DATABASES["default"].setdefault("CONN_MAX_AGE", 60)
        DATABASES["default"].setdefault("CONN_HEALTH_CHECKS", True)
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": DATA_DIR / "logplatform.sqlite3",
            "OPTIONS": {
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
            },
            # Tests run the worker in another process, so the test database must be a file.
            "TEST": {"NAME": str(DATA_DIR / "test_logplatform.sqlite3")},
        }
    }

# One cache shared by every process of this machine (gunicorn workers, qcluster):
# API throttle counters and django-q2's cluster stats must not be per process.
# Several machines: CACHE_URL=redis://host:6379/1 (django-environ syntax).
CACHES = {"default": env.cache_url("CACHE_URL", default=f"filecache://{DATA_DIR / 'cache'}")}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
FORMS_URLFIELD_ASSUME_HTTPS = True

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "analyses:upload"
LOGOUT_REDIRECT_URL = "accounts:login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = env.str("TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = _project_path(env.str("STATIC_ROOT", default="staticfiles"))
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
if DEBUG:
    STORAGES["staticfiles"] = {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}

# Uploads stream straight to STORAGE_ROOT through our handler; nothing is held
# in memory and nothing goes through /tmp. Caps are enforced by the handler.
_uploads = LOGPLATFORM["uploads"]
FILE_UPLOAD_HANDLERS = ["analyses.uploads.StreamingUploadHandler"]
UPLOAD_MAX_FILE_BYTES = _uploads["max_file_mb"] * 1024 * 1024
UPLOAD_MAX_REQUEST_BYTES = _uploads["max_request_mb"] * 1024 * 1024
DATA_UPLOAD_MAX_NUMBER_FILES = _uploads["max_files"]
UPLOAD_DISK_RESERVE_BYTES = _uploads["disk_reserve_mb"] * 1024 * 1024
UPLOAD_TEAM_QUOTA_BYTES = _uploads["team_quota_mb"] * 1024 * 1024
# A client that is not signed in may send at most this much (the sign-in form is
# well under it); a larger body is refused before anything reads it.
ANONYMOUS_BODY_MAX_BYTES = 64 * 1024
FILE_UPLOAD_PERMISSIONS = 0o640

# django-q2 with the ORM broker. DESIGN §9: the Analysis row is the source of
# truth; the queue may deliver twice, so tasks claim their analysis atomically.
_worker = LOGPLATFORM["worker"]
Q_CLUSTER = {
    "name": "logplatform",
    "orm": "default",
    "workers": env.int("Q_WORKERS", default=_worker["workers"]),
    "queue_limit": env.int("Q_WORKERS", default=_worker["workers"]),
    "timeout": _worker["timeout_seconds"],
    "retry": _worker["timeout_seconds"] + 600,
    "max_attempts": _worker["max_attempts"] + 1,
    "recycle": 200,
    "catch_up": False,
    "save_limit": 1000,
    # An idle cluster asks the queue table 20 times a second (a few indexed
    # queries): barely more CPU than 10 times, for half the wait before a worker
    # takes a new analysis (docs/decisions.md).
    "poll": 0.05,
    "label": "Task queue",
    # Notifications run on a cluster of their own (`qcluster --cluster
    # notifications`, i.e. Q_CLUSTER_NAME=notifications; its own queue rows), so
    # a slow or hostile webhook never holds a worker analyses need. One task is
    # one attempt, ended by its deadline well before `timeout`; the Delivery row,
    # not the queue, counts attempts and reschedules (analyses.notifications).
    "ALT_CLUSTERS": {
        "notifications": {
            "workers": LOGPLATFORM["alerts"]["delivery_workers"],
            "queue_limit": LOGPLATFORM["alerts"]["delivery_workers"],
            "timeout": int(LOGPLATFORM["alerts"]["webhook_timeout_seconds"]) + 60,
            "retry": int(LOGPLATFORM["alerts"]["webhook_timeout_seconds"]) + 180,
            "max_attempts": 2,
            # Notifications can wait a second; a fast poll costs CPU while idle.
            "poll": 1.0,
        }
    },
}

TRUSTED_PROXIES = env.int("TRUSTED_PROXIES", default=0)
if TRUSTED_PROXIES < 0:
    raise product_config.ConfigError(f"TRUSTED_PROXIES must be 0 or more (got {TRUSTED_PROXIES}).")

# The API (docs/api.md; shared plumbing in logplatform/api/, endpoints in each app):
# personal tokens for scripts, the session (with CSRF) for the browser; rates per
# user from config.yaml `api`; one error shape.
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # First, so an anonymous request gets 401 with a Bearer challenge, not 403.
        "accounts.authentication.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_THROTTLE_CLASSES": ["logplatform.api.throttling.ApiUserThrottle"],
    # How many reverse proxies in front append to X-Forwarded-For. 0: the client is
    # REMOTE_ADDR and the header is ignored (DRF's default, None, would trust a
    # header any client can forge, so each forged value got its own allowance).
    # Sign-in lockout uses the same address (accounts.throttle.client_ip).
    "NUM_PROXIES": TRUSTED_PROXIES,
    "EXCEPTION_HANDLER": "logplatform.api.errors.exception_handler",
    "DEFAULT_SCHEMA_CLASS": "logplatform.api.schema.ApiAutoSchema",
}

SPECTACULAR_SETTINGS = {
    "TITLE": "logplatform API",
    "DESCRIPTION": (
        "Upload log files for analysis, poll their status, read results and reports, "
        "list and acknowledge alerts, manage alert rules. Authenticate with a personal API "
        "token (`Authorization: Bearer lpt_…`). Every error has the shape "
        '`{"error": {"status", "code", "message", "details"}}`. Guide: docs/api.md.'
    ),
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "COMPONENT_SPLIT_REQUEST": True,
    "PREPROCESSING_HOOKS": ["logplatform.api.routing.expand_operations"],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "SWAGGER_UI_SETTINGS": {"persistAuthorization": True, "validatorUrl": None},
    "ENUM_NAME_OVERRIDES": {
        "AnalysisStatusEnum": "analyses.models.Status",
        "AlertKindEnum": "analyses.models.AlertKind",
        "SeverityEnum": "analyses.models.Severity",
        "RoleEnum": "accounts.models.Role",
        "LineStatusEnum": "spark_client.lines_filter.STATUSES",
    },
}

LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "py4j": {"level": "WARNING"},
        "django_q": {"level": "INFO"},
        "axes": {"level": "WARNING"},
    },
}

# Sessions and cookies; production hardening below.
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"

if PRODUCTION:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True

EMAIL_BACKEND = env.str("EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")
# A hung SMTP server must not hold a notification worker until the task timeout.
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=10)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="logplatform@localhost")

os.environ.setdefault("PYARROW_IGNORE_TIMEZONE", "1")
