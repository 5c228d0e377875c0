"""Cutout settings. Every value comes from the environment (see .env.example)."""

import secrets
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from whitenoise.compress import Compressor

from config.env import env_bool, env_int, env_list, env_networks, env_str
from removal.config import ConfigError, model_home
from removal.config import env_check as removal_env_check

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("CUTOUT_VAR_DIR", str(BASE_DIR / "var")))
VAR_DIR.mkdir(parents=True, exist_ok=True)


def _dev_secret_key() -> str:
    """A random key kept under var/ so local sessions survive restarts; never used in git."""
    path = VAR_DIR / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()


DEBUG = env_bool("DEBUG", False)
SECRET_KEY = env_str("SECRET_KEY") or _dev_secret_key()
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")
CSRF_FAILURE_VIEW = "core.errors.csrf_failure"  # JSON on API paths (the editor's fetch calls too)
TRUSTED_PROXIES = env_list("TRUSTED_PROXIES")
SITE_URL = env_str("SITE_URL", "http://127.0.0.1:8000").rstrip("/")


def websocket_origins_default(*, site_url: str, port: int) -> list[str]:
    """SITE_URL's origin, then the loopback origins of a local run on `port` (`make run`)."""
    parts = urlsplit(site_url)
    site = f"{parts.scheme}://{parts.netloc}".lower()
    loopback = [f"http://{host}:{port}" for host in ("127.0.0.1", "localhost", "[::1]")]
    return [site, *(origin for origin in loopback if origin != site)]


# Pages that may open the editor's websocket, as scheme://host[:port] (no wildcards): a page from
# another port or scheme of the same host must not read a user's job events (config/asgi.py).
WEBSOCKET_ALLOWED_ORIGINS = env_list(
    "WEBSOCKET_ALLOWED_ORIGINS",
    websocket_origins_default(site_url=SITE_URL, port=env_int("PORT", 8000, minimum=1)),
)
for _origin in WEBSOCKET_ALLOWED_ORIGINS:
    if urlsplit(_origin).scheme not in ("http", "https") or not urlsplit(_origin).hostname or "*" in _origin:
        raise ImproperlyConfigured(f"WEBSOCKET_ALLOWED_ORIGINS: {_origin!r} is not scheme://host[:port]")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.sites",
    "channels",
    "allauth",
    "allauth.account",
    "ninja",
    "accounts",
    "billing",
    "api",
    "editor",
    "jobs",
    "cutouts",
]

MIDDLEWARE = [
    "core.logs.RequestIdMiddleware",  # first: the id and the access line cover everything below
    "core.metrics.MetricsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "core.csp.ContentSecurityPolicyMiddleware",
    "core.api_errors.ApiJsonErrorsMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
]

ROOT_URLCONF = "config.urls"
ASGI_APPLICATION = "config.asgi.application"
SITE_ID = 1

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
            ],
        },
    },
]

# Database: SQLite under var/ unless DATABASE_URL says otherwise.
DATABASES = {
    "default": dj_database_url.parse(
        env_str("DATABASE_URL") or f"sqlite:///{VAR_DIR / 'cutout.sqlite3'}",
        conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 0, minimum=0),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Several threads (the ASGI server's sync pool) write; wait instead of failing at once.
    DATABASES["default"].setdefault("OPTIONS", {})["timeout"] = 20
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Redis: counters, balances, rate windows and the channel layer.
REDIS_URL = env_str("REDIS_URL", "redis://127.0.0.1:6379/0")
CACHES = {  # shared by every process: allauth's rate-limit windows live here
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": "cutout:cache",
    }
}
# A Redis read on the channel layer's sockets taking longer than this (seconds) is an error; an idle
# websocket's blocking wait for its next event is shorter, so waiting is not one (editor/layer.py).
CHANNEL_LAYER_READ_TIMEOUT = env_int("CHANNEL_LAYER_READ_TIMEOUT", 10, minimum=1)
CHANNEL_LAYERS = {
    "default": {
        "BACKEND": "editor.layer.EditorChannelLayer",
        "CONFIG": {"hosts": [REDIS_URL], "prefix": "cutout:channels",
                   "read_timeout": CHANNEL_LAYER_READ_TIMEOUT},
    }
}

AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "/editor/"  # after logging in without a `next`: where the work is

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = VAR_DIR / "staticfiles"
STATIC_ROOT.mkdir(exist_ok=True)  # whitenoise warns at start-up when it is missing
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(VAR_DIR / "media")))
MEDIA_URL = "media/"
STORAGES: dict[str, dict[str, Any]] = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    # Hashed, compressed names need `collectstatic` (make run does it). The test suite turns
    # them off: pytest-django's live server serves sources through the finders, not var/.
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if env_bool("STATIC_MANIFEST", not DEBUG)
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
WHITENOISE_USE_FINDERS = True
WHITENOISE_MANIFEST_STRICT = False
# collectstatic's time is brotli at its highest quality (first `make run`: ~30 s of ~230 s).
# Source maps (5 MB in django-ninja's API docs) are fetched only by browser devtools: not
# compressed. Pages link hashed names only, so only those are kept and compressed; an unhashed
# name still answers through the finders above.
WHITENOISE_SKIP_COMPRESS_EXTENSIONS = (*Compressor.SKIP_COMPRESS_EXTENSIONS, "map")
WHITENOISE_KEEP_ONLY_HASHED_FILES = True

# Email: console locally, SMTP when EMAIL_HOST is set (tests switch to locmem).
EMAIL_HOST = env_str("EMAIL_HOST")
EMAIL_BACKEND = (
    "django.core.mail.backends.smtp.EmailBackend"
    if EMAIL_HOST
    else "django.core.mail.backends.console.EmailBackend"
)
EMAIL_PORT = env_int("EMAIL_PORT", 587, minimum=1)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", True)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "Cutout <noreply@localhost>")

# The model: weights live under U2NET_HOME, provisioned by `make model`.
U2NET_HOME = model_home()  # $U2NET_HOME, else CUTOUT_VAR_DIR/models: removal decides, for everyone
try:  # the pipeline's own variables (PIPELINE_*, MODEL_*, REFINE_*…), each typed in removal.config
    removal_env_check()
except ConfigError as exc:
    raise ImproperlyConfigured(str(exc)) from None
REMBG_MODEL = env_str("REMBG_MODEL", "u2netp")

# Stripe: billing is off until the keys are set.
STRIPE_SECRET_KEY = env_str("STRIPE_SECRET_KEY")
STRIPE_PUBLISHABLE_KEY = env_str("STRIPE_PUBLISHABLE_KEY")
STRIPE_WEBHOOK_SECRET = env_str("STRIPE_WEBHOOK_SECRET")

# One JSON object per line by default (plain text with DEBUG or LOG_FORMAT=plain); every record
# carries the request id that is also sent back as X-Request-ID (config/logs.py).
LOG_FORMAT = env_str("LOG_FORMAT", "plain" if DEBUG else "json")
if LOG_FORMAT not in ("json", "plain"):
    raise ImproperlyConfigured(f"LOG_FORMAT must be json or plain, got {LOG_FORMAT!r}")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "core.logs.RequestIdFilter"},
                "client_error": {"()": "core.logs.ClientErrorFilter"}},
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"},
        "json": {"()": "core.logs.JsonFormatter"},
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT, "filters": ["request_id"]},
    },
    # uvicorn's loggers reach this handler too: the launcher gives uvicorn no logging config of its own.
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    # Django logs each refused request on django.security.<exception name>; a logger's filter does
    # not see its children's records, so each is named.
    "loggers": {f"django.security.{name}": {"filters": ["client_error"]} for name in (
        "SuspiciousOperation", "RequestDataTooBig", "TooManyFieldsSent", "TooManyFilesSent",
        "DisallowedHost", "DisallowedRedirect", "SuspiciousMultipartForm", "SuspiciousFileOperation",
        "SuspiciousSession", "InvalidSessionKey")},
}

# --- billing ---
# Plans and packs: JSON lists (empty = defaults in billing/plans.py), validated here at start-up.
# Stripe Price IDs come from the JSON ("price_id") or STRIPE_PRICE_<SLUG> variables.
import os  # noqa: E402

from billing.plans import packs_parse, plans_parse, rate_checked, strategy_checked  # noqa: E402

BILLING_FREE_PLAN = env_str("BILLING_FREE_PLAN", "free")
BILLING_PLANS = plans_parse(env_str("BILLING_PLANS"), environ=os.environ, free_slug=BILLING_FREE_PLAN)
BILLING_PACKS = packs_parse(env_str("BILLING_PACKS"), environ=os.environ)
BILLING_ANON_DAILY_LIMIT = env_int("BILLING_ANON_DAILY_LIMIT", 5, minimum=0)  # images per IP per UTC day
BILLING_ANON_RATE_LIMIT = rate_checked(  # short-term limit for anonymous callers, per IP
    "BILLING_ANON_RATE_LIMIT", env_str("BILLING_ANON_RATE_LIMIT", "10/minute")
)
BILLING_RATE_LIMIT_STRATEGY = strategy_checked(
    env_str("BILLING_RATE_LIMIT_STRATEGY", "sliding-window-counter")
)
BILLING_RESERVATION_TIMEOUT = env_int("BILLING_RESERVATION_TIMEOUT", 900, minimum=30)  # seconds, then swept
BILLING_COUNTER_TTL_DAYS = env_int("BILLING_COUNTER_TTL_DAYS", 400, minimum=35)  # month/cycle/day counters

BILLING_TEST_KEY_RATE_LIMIT = rate_checked(  # short-term limit per test key (ck_test_…), never charged
    "BILLING_TEST_KEY_RATE_LIMIT", env_str("BILLING_TEST_KEY_RATE_LIMIT", "20/minute")
)

# --- API additions (SPEC §7) ---
# image_url downloads (core/image_fetch.py): private, loopback, link-local... addresses are refused
# unless listed here (addresses or networks, e.g. 10.1.2.0/24 for an internal image store).
IMAGE_URL_ALLOW_NETWORKS = env_networks("IMAGE_URL_ALLOW_NETWORKS")
IMAGE_URL_TIMEOUT = env_int("IMAGE_URL_TIMEOUT", 10, minimum=1)  # seconds for the whole download
IDEMPOTENCY_TTL = env_int("IDEMPOTENCY_TTL", 24 * 3600, minimum=3600)  # seconds a replayable answer is kept
TEST_KEY_MAX_PIXELS = 250_000  # results of test keys fit in 0.25 MP

# --- accounts ---
# django-allauth: email is the login. Verification is optional so new users can log in at once;
# the API and the editor refuse to process for them until they verify (accounts.services).
ACCOUNT_ADAPTER = "accounts.adapter.AccountAdapter"  # rate limits use our TRUSTED_PROXIES-aware client IP
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_EMAIL_VERIFICATION = "optional"
ACCOUNT_CHANGE_EMAIL = True  # one address per user; a new one replaces it once verified
ACCOUNT_EMAIL_SUBJECT_PREFIX = "[Cutout] "
ACCOUNT_DEFAULT_HTTP_PROTOCOL = "https" if SITE_URL.startswith("https://") else "http"
ACCOUNT_SIGNUP_REDIRECT_URL = "/profile/"
# allauth keeps rate-limit windows in Django's cache (CACHES); format "<n>/<period>/<ip|key|user>".
ACCOUNT_RATE_LIMITS = {
    "login": "30/m/ip",
    "login_failed": "10/m/ip,5/5m/key",  # key = the email being tried
    "signup": "20/m/ip",
    "reset_password": "20/m/ip,5/m/key",
    "reset_password_from_key": "20/m/ip",
    "change_password": "5/m/user",
    "manage_email": "10/m/user",
    "confirm_email": "1/3m/key",  # at most one verification mail per address per 3 minutes
    "reauthenticate": "10/m/user",
}
USER_TOKEN_MAX_AGE = env_int("USER_TOKEN_MAX_AGE", 15 * 60, minimum=60)  # lifetime of web-app Bearer tokens

# --- editor ---
# Uploaded originals, masks and results of the browser editor are deleted after this many days
# by `python manage.py editor_purge` (run it daily).
EDITOR_RETENTION_DAYS = env_int("EDITOR_RETENTION_DAYS", 7, minimum=1)
# A free re-render (touch-ups, background, colour, size) is stopped after this many seconds (503); a
# render still marked in flight twice as long after is taken as lost and the job renderable again.
EDITOR_RENDER_TIMEOUT = env_int("EDITOR_RENDER_TIMEOUT", 60, minimum=5)
# Renders of one user in flight at once, per server process; more → 429 with Retry-After.
EDITOR_RENDERS_PER_USER = env_int("EDITOR_RENDERS_PER_USER", 2, minimum=1)

# --- batch jobs (jobs/, issue 18) ---
# Celery carries one task per item and per webhook delivery; the job's state lives in the database.
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", REDIS_URL)  # amqp://... for RabbitMQ
CELERY_TASK_IGNORE_RESULT = True  # no result backend
CELERY_TASK_ACKS_LATE = True  # a task is acknowledged when done: a dead worker's item is re-delivered
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1  # long tasks: a worker holds one item, the others stay queued
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# One broker shared by several deployments (or test runs): each takes its own queue.
CELERY_TASK_DEFAULT_QUEUE = env_str("CELERY_QUEUE", "cutout")
# A prefork child loads the model (worker_process_init) before it reports "up"; Celery's 4 s default
# is too short on a busy machine: the parent then kills and re-forks the child for ever, and no item runs.
CELERY_WORKER_PROC_ALIVE_TIMEOUT = env_int("CELERY_WORKER_PROC_ALIVE_TIMEOUT", 60, minimum=4)
# The Redis transport re-delivers a task nobody acknowledged after this many seconds: it bounds how
# long the item of a SIGKILLed worker waits while other workers are alive (the only or last worker
# takes it back at its restart: jobs.worker). It must exceed the longest item, or that item runs
# twice (charged once all the same): the largest legal image (100 MP) with a 10 s download takes well
# under a minute on 2 cores, so 10 minutes leave a tenfold margin for a loaded machine.
CELERY_VISIBILITY_TIMEOUT = env_int("CELERY_VISIBILITY_TIMEOUT", 600, minimum=60)
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": CELERY_VISIBILITY_TIMEOUT}
JOBS_MAX_ITEMS = env_int("JOBS_MAX_ITEMS", 100, minimum=1)  # image parts per POST /api/jobs
# Django refuses a form with more files than this before our check could say "at most N images".
DATA_UPLOAD_MAX_NUMBER_FILES = max(100, JOBS_MAX_ITEMS * 2)
JOBS_RETENTION_HOURS = env_int("JOBS_RETENTION_HOURS", 24, minimum=1)  # then `manage.py batch_purge`
JOBS_RESULT_URL_MAX_AGE = env_int("JOBS_RESULT_URL_MAX_AGE", 3600, minimum=10)  # seconds a result URL lives
JOBS_PAGE_SIZE = env_int("JOBS_PAGE_SIZE", 20, minimum=1)
# An item whose task failed outside the charged run (database, storage) is retried 5 times, after
# BACKOFF × 1, 2, 4, 8, 16 seconds, then failed with "Image processing failed".
JOBS_ITEM_RETRY_BACKOFF = float(env_str("JOBS_ITEM_RETRY_BACKOFF", "1"))
# Webhooks: 10 s per attempt; retried after BACKOFF * 2**n seconds (capped at an hour) for RETRY_HOURS.
JOBS_WEBHOOK_TIMEOUT = env_int("JOBS_WEBHOOK_TIMEOUT", 10, minimum=1)
JOBS_WEBHOOK_BACKOFF = float(env_str("JOBS_WEBHOOK_BACKOFF", "30"))
# A retry waits inside a worker, unacknowledged: a wait past the visibility timeout would have Redis
# hand the same delivery to a second worker. So the wait is capped at half of it (5 min by default).
JOBS_WEBHOOK_MAX_BACKOFF = min(3600.0, CELERY_VISIBILITY_TIMEOUT / 2)
JOBS_WEBHOOK_RETRY_HOURS = env_int("JOBS_WEBHOOK_RETRY_HOURS", 24, minimum=1)
# callback_url must be https; plain http only to these hosts (an operator's internal receivers).
JOBS_CALLBACK_HTTP_HOSTS = env_list("JOBS_CALLBACK_HTTP_HOSTS")

# --- production ---
# SECURE turns on secure cookies, HSTS and the HTTP → HTTPS redirect. Default: on when DEBUG is off
# and SITE_URL is https://, so a production SITE_URL is enough; SECURE=false for plain-HTTP setups.
# Behind a TLS-terminating proxy, list it in TRUSTED_PROXIES: then its X-Forwarded-Proto is believed
# (it must overwrite that header) and its X-Forwarded-For names the client (accounts.client_ip).
SECURE = env_bool("SECURE", not DEBUG and SITE_URL.startswith("https://"))
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = SECURE
SECURE_SSL_REDIRECT = SECURE and env_bool("SECURE_SSL_REDIRECT", True)
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^metrics$"]  # probed over plain HTTP inside the network
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31_536_000, minimum=0) if SECURE else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)  # a promise to browsers: opt in knowingly
if TRUSTED_PROXIES:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
CSP_REPORT_ONLY = env_bool("CSP_REPORT_ONLY", False)  # config/csp.py: try a policy change without breaking

# Files: local (MEDIA_ROOT) unless a bucket is named; then private objects in S3-compatible storage
# and short-lived signed URLs for downloads (core/storage.py).
from core.storage import S3_BACKEND, s3_options  # noqa: E402

AWS_STORAGE_BUCKET_NAME = env_str("AWS_STORAGE_BUCKET_NAME")
if AWS_STORAGE_BUCKET_NAME:
    STORAGES["default"] = {
        "BACKEND": S3_BACKEND,
        "OPTIONS": s3_options(
            bucket=AWS_STORAGE_BUCKET_NAME,
            endpoint_url=env_str("AWS_S3_ENDPOINT_URL"),  # MinIO, R2, Ceph...; unset = AWS
            region=env_str("AWS_S3_REGION_NAME"),
            location=env_str("AWS_LOCATION"),  # key prefix inside the bucket
            addressing_style=env_str("AWS_S3_ADDRESSING_STYLE"),  # "path" for most S3-compatible servers
            expire=env_int("AWS_QUERYSTRING_EXPIRE", 300, minimum=10),  # seconds a signed URL lives
            access_key=env_str("AWS_ACCESS_KEY_ID"),  # unset: boto3's chain (role, ~/.aws)
            secret_key=env_str("AWS_SECRET_ACCESS_KEY"),
        ),
    }

# Metrics at /metrics (core/metrics.py): off until a token or an allow-list is set.
# Several processes on one machine: set PROMETHEUS_MULTIPROC_DIR (the launcher does).
METRICS_TOKEN = env_str("METRICS_TOKEN")
METRICS_ALLOW_IPS = env_networks("METRICS_ALLOW_IPS")  # addresses or networks, e.g. 10.0.0.0/8,127.0.0.1

# Load the model and run one inference when a process starts (config/asgi.py), so the first
# request does not pay for it. The launcher (python -m config.serve) turns it on.
WARM_UP = env_bool("WARM_UP", False)
