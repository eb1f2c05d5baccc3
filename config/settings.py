"""Sprintboard settings: one module, everything read from the environment.

With nothing set, Sprintboard runs on the embedded default: an SQLite file,
no broker (Celery tasks run eagerly in process) and an in-memory cache. Set
``DATABASE_URL`` and ``REDIS_URL`` for PostgreSQL and Redis. Every variable is
listed in the README.
"""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import dj_database_url
from celery.schedules import crontab
from csp.constants import NONCE, NONE, SELF
from django.core.exceptions import ImproperlyConfigured

from config.env import email_url, envbool, envint, envlist, envrate, envsecret, envstr

BASE_DIR = Path(__file__).resolve().parent.parent

DEBUG = envbool("DJANGO_DEBUG", False)
SECRET_KEY = envsecret("DJANGO_SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "DJANGO_SECRET_KEY is not set: set it (or DJANGO_SECRET_KEY_FILE) to a long random string, "
            "or set DJANGO_DEBUG=1 for local development."
        )
    SECRET_KEY = "insecure-development-key-do-not-use-in-production"

ALLOWED_HOSTS = [
    h.strip() for h in envsecret("DJANGO_ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]").split(",") if h.strip()
]
if not ALLOWED_HOSTS and not DEBUG:
    raise ImproperlyConfigured(
        "DJANGO_ALLOWED_HOSTS is empty: set it to the host names the site is served at, e.g. sprintboard.example.com."
    )
if bad_hosts := [host for host in ALLOWED_HOSTS if "/" in host]:
    raise ImproperlyConfigured(
        f"DJANGO_ALLOWED_HOSTS has {bad_hosts[0]!r}: write host names such as sprintboard.example.com, not URLs."
    )
CSRF_TRUSTED_ORIGINS = envlist("DJANGO_CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_htmx",
    "axes",
    "csp",
    # Sprintboard apps, in dependency order: each imports only from those above it.
    "apps.core",
    "apps.projects",
    "apps.deliverables",
    "apps.stories",
    "apps.intake",
    "apps.reports",
    "apps.imports",
    "apps.transfer",
    "apps.webhooks",
    "apps.notifications",
    "apps.integrations",
    "apps.web",
]

MIDDLEWARE = [
    "apps.web.health.HealthCheckMiddleware",  # /healthz, /readyz and /metrics, before ALLOWED_HOSTS and SSL
    "apps.web.metrics.PrometheusMiddleware",
    "apps.web.middleware.RejectNulBytesMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "apps.web.middleware.CSPMiddleware",  # django-csp's, the policy without a nonce built once
    "django_permissions_policy.PermissionsPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "apps.web.middleware.AuthenticationMiddleware",  # Django's; the user read with its session
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "axes.middleware.AxesMiddleware",  # answers a locked-out login with 429
    "apps.projects.middleware.LastPageMiddleware",  # where the next login lands
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "apps.web.context_processors.navigation",
            ],
        },
    },
]

# --- Database ---------------------------------------------------------------
DATABASE_URL = envsecret("DATABASE_URL")
if DATABASE_URL:
    try:
        DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=60, conn_health_checks=True)}
    except ValueError as exc:
        raise ImproperlyConfigured(
            f"DATABASE_URL is not a database URL ({exc}): write postgres://user:password@host:5432/name."
        ) from None
    if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
        # Django's backend, with a health check that reads the socket rather than sending SELECT 1 (a round trip
        # at the start of every request): apps/core/postgresql/base.py.
        DATABASES["default"]["ENGINE"] = "apps.core.postgresql"
        # Django binds parameters on the client and never prepares; the one query that binds on the server,
        # the board poll's (apps.stories.selectors.board_version), is prepared from its 5th run on a connection
        # and planned once: its plan does not depend on its values, and planning it cost more than running it.
        # No JIT: every query here reads a few rows by index, but a generic plan's estimate for a large project
        # (the poll's at 50,000 stories: cost 206,000) passes jit_above_cost, and PostgreSQL then compiled the
        # 0.5 ms query for ~120 ms on every run (tests/deploy/test_database_settings.py).
        DATABASES["default"]["OPTIONS"] = {
            "prepare_threshold": 5,
            "options": "-c plan_cache_mode=force_generic_plan -c jit=off",
            **DATABASES["default"].get("OPTIONS", {}),
        }
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": envstr("SPRINTBOARD_SQLITE_PATH", str(BASE_DIR / "db.sqlite3")),
            # IMMEDIATE takes the write lock at BEGIN, so concurrent writers wait instead of deadlocking.
            "OPTIONS": {"timeout": 20, "transaction_mode": "IMMEDIATE"},
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Redis: cache and Celery broker -----------------------------------------
REDIS_URL = envsecret("REDIS_URL")
if REDIS_URL and not REDIS_URL.startswith(("redis://", "rediss://", "unix://")):
    raise ImproperlyConfigured(
        "REDIS_URL does not start with redis://, rediss:// or unix://: write redis://:password@host:6379/0."
    )
if REDIS_URL:
    # Redis is a cache: while it is away an error is logged and read as a miss, so pages keep working.
    CACHES = {
        "default": {
            "BACKEND": "apps.core.cache.TolerantRedisCache",
            "LOCATION": REDIS_URL,
            "OPTIONS": {"socket_connect_timeout": 2, "socket_timeout": 2},
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
# Sessions live in the database only: logging in works without Redis, and a logout or a password
# change ends a session at once (a copy cached in Redis could outlive an outage).
SESSION_ENGINE = "apps.web.sessions"  # database sessions that keep their user id: one read for both

CELERY_BROKER_URL = REDIS_URL or "memory://localhost/"  # a host named: kombu warns "No hostname was supplied" otherwise
CELERY_RESULT_BACKEND = None
CELERY_TASK_ALWAYS_EAGER = not REDIS_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SOFT_TIME_LIMIT = envint("CELERY_TASK_SOFT_TIME_LIMIT", 300, minimum=1)
# The hard limit kills a task the soft limit (which lets it record why it stopped) did not stop.
CELERY_TASK_TIME_LIMIT = envint("CELERY_TASK_TIME_LIMIT", CELERY_TASK_SOFT_TIME_LIMIT + 60, minimum=1)
if CELERY_TASK_TIME_LIMIT <= CELERY_TASK_SOFT_TIME_LIMIT:
    raise ImproperlyConfigured(
        f"CELERY_TASK_TIME_LIMIT={CELERY_TASK_TIME_LIMIT} is not longer than CELERY_TASK_SOFT_TIME_LIMIT="
        f"{CELERY_TASK_SOFT_TIME_LIMIT}: the hard limit comes after the soft one; leave it unset for soft + 60."
    )
# A report still "running" this many seconds past the hard time limit lost its worker (a pod or node
# killed whole): the stuck-report sweep queues it again.
REPORTS_STUCK_MARGIN_SECONDS = envint("SPRINTBOARD_REPORTS_STUCK_MARGIN_SECONDS", 60, minimum=1)
# A task's message comes back to the queue when its worker has not acknowledged it this long after
# taking it (acks late: when it finishes). Matched to the hard time limit, so a dead worker's task
# returns within minutes; shorter than the limit, a long task would run twice at once.
visibility_timeout = envint(
    "CELERY_VISIBILITY_TIMEOUT", CELERY_TASK_TIME_LIMIT + REPORTS_STUCK_MARGIN_SECONDS, minimum=1
)
if visibility_timeout <= CELERY_TASK_TIME_LIMIT:
    raise ImproperlyConfigured(
        f"CELERY_VISIBILITY_TIMEOUT={visibility_timeout} is not longer than the task time limit "
        f"(CELERY_TASK_TIME_LIMIT={CELERY_TASK_TIME_LIMIT}): a task still running would be "
        f"delivered again; write at least {CELERY_TASK_TIME_LIMIT + 1}, or leave it unset."
    )
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": visibility_timeout}
# Two queues, so the nightly run never delays what a person is waiting for, and the other way round.
# "reports": computations people ask for (pages, API), imports, anything not routed; "nightly": the
# beat's periodic tasks and the computations they queue. A worker started without -Q takes both.
REPORTS_QUEUE = "reports"
NIGHTLY_QUEUE = "nightly"
CELERY_TASK_DEFAULT_QUEUE = REPORTS_QUEUE
CELERY_TASK_QUEUES: dict[str, dict[str, str]] = {REPORTS_QUEUE: {}, NIGHTLY_QUEUE: {}}
CELERY_TASK_ROUTES = {
    "apps.reports.tasks.reports_nightly_task": {"queue": NIGHTLY_QUEUE},
    "apps.reports.tasks.reports_sweep_task": {"queue": NIGHTLY_QUEUE},
    "apps.reports.tasks.reports_expire_task": {"queue": NIGHTLY_QUEUE},
    "apps.web.tasks.sessions_clear_task": {"queue": NIGHTLY_QUEUE},
}
# Nightly reports of every active project (apps/reports/tasks.py), in the UTC night; each minute, the
# sweep of reports whose worker died; each night, the expiry of reports nobody asked for lately. Each
# run expires before the next one, so a stalled worker or beat never piles up duplicates.
CELERY_BEAT_SCHEDULE: dict = {
    **{
        f"reports-nightly-{kind}": {
            "task": "apps.reports.tasks.reports_nightly_task",
            "schedule": crontab(hour=2, minute=minute),
            "args": (kind,),
            "options": {"expires": 23 * 3600},
        }
        for kind, minute in (("flow", 0), ("waste", 10), ("forecast", 20))
    },
    "reports-sweep": {
        "task": "apps.reports.tasks.reports_sweep_task",
        "schedule": 60.0,
        "options": {"expires": 60},
    },
    "reports-expire": {
        "task": "apps.reports.tasks.reports_expire_task",
        "schedule": crontab(hour=3, minute=30),
        "options": {"expires": 23 * 3600},
    },
}
# Webhook deliveries a dead worker or an unreachable broker left behind are asked for again each minute.
CELERY_BEAT_SCHEDULE["webhooks-sweep"] = {
    "task": "apps.webhooks.tasks.webhooks_sweep_task",
    "schedule": 60.0,
    "options": {"expires": 60},
}

# Expired sessions (one row per login) are deleted each night.
CELERY_BEAT_SCHEDULE["sessions-clear"] = {
    "task": "apps.web.tasks.sessions_clear_task",
    "schedule": crontab(hour=4, minute=0),
    "options": {"expires": 23 * 3600},
}

# --- Outgoing webhooks (apps/webhooks) ----------------------------------------
# Private, loopback and link-local receivers are refused (SSRF) unless the operator allows them.
WEBHOOK_ALLOW_PRIVATE = envbool("SPRINTBOARD_WEBHOOK_ALLOW_PRIVATE", False)
# The most one delivery may take, connection and answer included.
WEBHOOK_TIMEOUT_SECONDS = envint("SPRINTBOARD_WEBHOOK_TIMEOUT_SECONDS", 10, minimum=1)
# A failed delivery is tried again after this many seconds, doubling each time up to the maximum.
WEBHOOK_RETRY_SECONDS = envint("SPRINTBOARD_WEBHOOK_RETRY_SECONDS", 30, minimum=1)
WEBHOOK_RETRY_MAX_SECONDS = envint("SPRINTBOARD_WEBHOOK_RETRY_MAX_SECONDS", 3600, minimum=1)
# A webhook whose deliveries have failed for this long is disabled and its project's admins are told.
WEBHOOK_DISABLE_AFTER_HOURS = envint("SPRINTBOARD_WEBHOOK_DISABLE_AFTER_HOURS", 24, minimum=1)

# --- Auth -------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
    # Not a rule: its password_changed hook revokes the user's API tokens when PASSWORD_CHANGE_REVOKES_TOKENS
    # is on (every door a password changes through: the account page, the admin, changepassword).
    {"NAME": "apps.web.passwords.RevokeTokensOnPasswordChange"},
]
# django-axes locks out repeated failed logins (the login page and /admin/login/), per user name and,
# separately, per address.
# apps.web.backends.ModelBackend is Django's, reading a session's user in one written-out query.
AUTHENTICATION_BACKENDS = ["axes.backends.AxesStandaloneBackend", "apps.web.backends.ModelBackend"]
AXES_FAILURE_LIMIT = envint("SPRINTBOARD_LOGIN_FAILURE_LIMIT", 5, minimum=1)
AXES_COOLOFF_TIME = timedelta(minutes=envint("SPRINTBOARD_LOGIN_COOLOFF_MINUTES", 15, minimum=1))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_RESET_ON_SUCCESS = True
AXES_CLIENT_IP_CALLABLE = "apps.core.throttling.client_address"
AXES_LOCKOUT_TEMPLATE = "web/locked_out.html"
AXES_DISABLE_ACCESS_LOG = True  # failures are what is kept; successful logins are not logged again
# How many reverse proxies (an Ingress controller, a load balancer) stand in front of the web pods: the
# client's address is that many entries from the end of X-Forwarded-For. 0 trusts no such header.
NUM_PROXIES = envint("SPRINTBOARD_NUM_PROXIES", 0, minimum=0)
# API tokens expire this many days after creation (0: they never do). A password change revokes the
# user's tokens too when SPRINTBOARD_PASSWORD_CHANGE_REVOKES_TOKENS is on (its sessions always end).
API_TOKEN_TTL_DAYS = envint("SPRINTBOARD_TOKEN_TTL_DAYS", 0, minimum=0)
PASSWORD_CHANGE_REVOKES_TOKENS = envbool("SPRINTBOARD_PASSWORD_CHANGE_REVOKES_TOKENS", False)
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "start"  # the board of a person's one project, else the project list
LOGOUT_REDIRECT_URL = "login"

# --- Internationalisation -----------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- Static files -----------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}

WHITENOISE_AUTOREFRESH = DEBUG  # serve from the finders; no collectstatic needed

# --- Security ---------------------------------------------------------------
# With DJANGO_DEBUG=0, DJANGO_SECURE_SSL_REDIRECT=1, a long key and real host names,
# `manage.py check --deploy` has nothing to say (tests/deploy/ holds it to that).
SECURE_SSL_REDIRECT = envbool("DJANGO_SECURE_SSL_REDIRECT", False)
# HealthCheckMiddleware answers these before SecurityMiddleware; this is a second guard.
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^metrics$"]
# X-Forwarded-Proto says a request came over HTTPS only when a proxy we run (the chart's Ingress) sets it:
# trusted from anyone, a client on plain HTTP could claim HTTPS (secure cookies sent, no redirect).
if envbool("SPRINTBOARD_TRUST_X_FORWARDED_PROTO", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = not DEBUG and envbool("DJANGO_SECURE_COOKIES", True)
# A year, as HSTS is meant to be kept; DJANGO_HSTS_SECONDS=0 sends no header (a site still trying HTTPS out).
SECURE_HSTS_SECONDS = envint("DJANGO_HSTS_SECONDS", 0 if DEBUG else 365 * 24 * 3600, minimum=0)
# HSTS covers only the host that sends it and its subdomains: sprintboard.example.com's, not example.com's.
SECURE_HSTS_INCLUDE_SUBDOMAINS = envbool("DJANGO_HSTS_INCLUDE_SUBDOMAINS", True)
SECURE_HSTS_PRELOAD = envbool("DJANGO_HSTS_PRELOAD", False)
SILENCED_SYSTEM_CHECKS: list[str] = []
if not SECURE_HSTS_PRELOAD:
    # Preloading binds the whole registrable domain into browsers for months and is
    # asked for at hstspreload.org by its owner: a choice, not a default. Opting out
    # of it is not a misconfiguration, so check --deploy need not warn.
    SILENCED_SYSTEM_CHECKS.append("security.W021")
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # The embedded SQLite (make run) has no deferrable unique constraints, so the one on a story's rank is not
    # created there: the ranking services keep ranks unique themselves; PostgreSQL, what the chart runs, has it.
    SILENCED_SYSTEM_CHECKS.append("models.W038")
    # Nor covering indexes: the finished-stories index is built there without its included column (the board's
    # SLE then reads the table rows, as it did before the column was included).
    SILENCED_SYSTEM_CHECKS.append("models.W040")
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
# Images in Markdown (descriptions, comments) load from this site and from these hosts only: any other
# image would tell its host who read the story, and when (a tracking pixel). Host names, e.g. img.example.com.
MARKDOWN_IMAGE_HOSTS = envlist("SPRINTBOARD_MARKDOWN_IMAGE_HOSTS")
HOST_NAME = re.compile(r"[a-z0-9-]+(\.[a-z0-9-]+)*(:\d+)?")
if bad_image_hosts := [host for host in MARKDOWN_IMAGE_HOSTS if not HOST_NAME.fullmatch(host)]:
    raise ImproperlyConfigured(
        f"SPRINTBOARD_MARKDOWN_IMAGE_HOSTS has {bad_image_hosts[0]!r}: write lower-case host names such as "
        "img.example.com, comma-separated, without a scheme or a path."
    )
# Content-Security-Policy (django-csp): scripts and styles from this site, or inline with the page's nonce;
# no plugins, no framing, forms post only here. Pages pass data to CSS through data-css-vars (static/js/app.js)
# rather than style attributes, and the Swagger UI's script is a file of its own (config/urls.py).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF, NONCE],
        "style-src": [SELF, NONCE],
        "img-src": [SELF, "data:", *MARKDOWN_IMAGE_HOSTS],
        "connect-src": [SELF],
        "font-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    },
}
# Permissions-Policy (django-permissions-policy): no page here uses a device or sensor, so none may.
PERMISSIONS_POLICY: dict[str, list[str]] = {
    feature: []
    for feature in (
        "accelerometer",
        "ambient-light-sensor",
        "autoplay",
        "bluetooth",
        "browsing-topics",
        "camera",
        "display-capture",
        "encrypted-media",
        "geolocation",
        "gyroscope",
        "hid",
        "idle-detection",
        "magnetometer",
        "microphone",
        "midi",
        "payment",
        "publickey-credentials-get",
        "screen-wake-lock",
        "serial",
        "usb",
        "xr-spatial-tracking",
    )
}
DATA_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024

# --- REST API ---------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "apps.web.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "apps.core.api_support.Pagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "apps.core.schema.AutoSchema",
    "EXCEPTION_HANDLER": "apps.core.api_support.exception_handler",
    "DEFAULT_RENDERER_CLASSES": [
        "rest_framework.renderers.JSONRenderer",
        "apps.core.renderers.BrowsableApi",
    ],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
    # Per user and, separately, per client address; a 429 carries Retry-After. Failed token logins
    # have their own, lower rate per address (apps.web.authentication).
    "DEFAULT_THROTTLE_CLASSES": ["apps.core.throttling.UserRateThrottle", "apps.core.throttling.AddressRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {
        "user": envrate("SPRINTBOARD_API_RATE_USER", "1200/minute"),
        "address": envrate("SPRINTBOARD_API_RATE_ADDRESS", "2400/minute"),
        "token_failure": envrate("SPRINTBOARD_API_RATE_TOKEN_FAILURES", "20/minute"),
    },
    "NUM_PROXIES": NUM_PROXIES,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Sprintboard API",
    "DESCRIPTION": "Sprint board and backlog for data-analytics teams. Errors share one shape: "
    '{"errors": [{"field": name or null, "code": short code, "message": sentence}]}.',
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    # PATCH bodies are documented as written: a story's PATCH really requires "version".
    "COMPONENT_SPLIT_PATCH": False,
    # Swagger UI's files come from the drf-spectacular-sidecar package, not a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "ENUM_NAME_OVERRIDES": {
        "StoryKindEnum": "apps.stories.models.StoryKind",
        "EventKindEnum": "apps.stories.models.EventKind",
        "CategoryEnum": "apps.projects.models.Category",
        "RoleEnum": "apps.projects.models.Role",
        "DeliverableKindEnum": "apps.deliverables.models.DeliverableKind",
        "DeliverableStatusEnum": "apps.deliverables.models.DeliverableStatus",
        "DeliverableWorkingStatusEnum": "apps.deliverables.serializers.WORKING_STATUS_CHOICES",
        "DeliverableEventKindEnum": "apps.deliverables.models.DeliverableEventKind",
        "PipelineRunSourceEnum": "apps.deliverables.models.RunSource",
        "ImportSourceEnum": "apps.imports.models.ImportSource",
        "PipelineRunStatusEnum": "apps.deliverables.models.RunStatus",
        "StoryLinkKindEnum": "apps.stories.models.LinkKind",
        "CodeHostEnum": "apps.integrations.models.Host",
        "CodeLinkKindEnum": "apps.integrations.models.LinkKind",
        "CodeLinkStateEnum": "apps.integrations.models.LinkState",
    },
}

# --- Logging ----------------------------------------------------------------
LOG_FORMAT = envstr("DJANGO_LOG_FORMAT", "text")
if LOG_FORMAT not in {"text", "json"}:
    raise ImproperlyConfigured(f"DJANGO_LOG_FORMAT={LOG_FORMAT!r}: write text or json.")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "text": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        "json": {"()": "config.logging.JsonFormatter"},
    },
    "filters": {"quiet_refusals": {"()": "config.logging.QuietRefusals"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT, "filters": ["quiet_refusals"]}},
    "root": {"handlers": ["console"], "level": envstr("DJANGO_LOG_LEVEL", "INFO")},
}
# Celery replaces the root logger's handlers with its own text format unless told not to.
CELERY_WORKER_HIJACK_ROOT_LOGGER = LOG_FORMAT == "text"
# gunicorn's own lines (startup, access log) are formatted by gunicorn.conf.py, which reads DJANGO_LOG_FORMAT too.

# --- Prometheus ---------------------------------------------------------------
# Set for gunicorn (several worker processes per pod): prometheus_client then keeps
# metrics in files there, and /metrics adds up every worker's. See apps/web/metrics.py.
PROMETHEUS_MULTIPROC_DIR = envstr("PROMETHEUS_MULTIPROC_DIR")
# The Redis hash where Celery workers count tasks for the web pods' /metrics.
PROMETHEUS_CELERY_KEY = "sprintboard:metrics:celery-tasks"
# When set, /metrics answers only `Authorization: Bearer <this token>`.
METRICS_TOKEN = envsecret("SPRINTBOARD_METRICS_TOKEN")
# When set, /readyz and /metrics are answered only on this port: a second gunicorn bind that probes and
# Prometheus reach by pod IP and the Ingress never routes to (the chart sets it). 0: on any port.
OPS_PORT = envint("SPRINTBOARD_OPS_PORT", 0, minimum=0)

# --- E-mail (notifications) -----------------------------------------------------
# EMAIL_URL (smtp://, smtp+tls://, smtps://, console://) or the usual EMAIL_HOST, EMAIL_PORT, EMAIL_HOST_USER,
# EMAIL_HOST_PASSWORD (or _FILE), EMAIL_USE_TLS. Neither: mail is written to the console (`make run`).
_email_url = envsecret("EMAIL_URL")
if _email_url:
    globals().update(email_url("EMAIL_URL", _email_url))
else:
    EMAIL_HOST = envstr("EMAIL_HOST")
    EMAIL_BACKEND = (
        "django.core.mail.backends.smtp.EmailBackend"
        if EMAIL_HOST
        else "django.core.mail.backends.console.EmailBackend"
    )
    EMAIL_PORT = envint("EMAIL_PORT", 25, minimum=1)
    EMAIL_HOST_USER = envstr("EMAIL_HOST_USER")
    EMAIL_HOST_PASSWORD = envsecret("EMAIL_HOST_PASSWORD")
    EMAIL_USE_TLS = envbool("EMAIL_USE_TLS", False)
EMAIL_TIMEOUT = envint("EMAIL_TIMEOUT", 10, minimum=1)
DEFAULT_FROM_EMAIL = envstr("DEFAULT_FROM_EMAIL", "Sprintboard <sprintboard@localhost>")
# Links in e-mail are absolute: the address people reach this install at.
SPRINTBOARD_BASE_URL = (envstr("SPRINTBOARD_BASE_URL") or "http://localhost:8000").rstrip("/")
# The bell in the page header asks for the unread count this often.
NOTIFICATION_POLL_INTERVAL_MS = envint("SPRINTBOARD_NOTIFICATION_POLL_MS", 15000, minimum=1000)
CELERY_BEAT_SCHEDULE |= {
    # Immediate mail the worker could not send (SMTP down, worker lost): sent once the server is back.
    "notifications-email-sweep": {
        "task": "apps.notifications.tasks.notifications_email_sweep_task",
        "schedule": timedelta(minutes=5),
        "options": {"expires": 5 * 60},
    },
    "notifications-digest-hourly": {
        "task": "apps.notifications.tasks.notifications_digest_task",
        "schedule": crontab(minute=0),
        "args": ("hourly",),
        "options": {"expires": 3600},
    },
    "notifications-digest-daily": {
        "task": "apps.notifications.tasks.notifications_digest_task",
        "schedule": crontab(hour=7, minute=0),
        "args": ("daily",),
        "options": {"expires": 23 * 3600},
    },
}

# --- Requests by e-mail (apps/intake/mailbox.py) -------------------------------------
# One IMAP mailbox feeds one project's triage queue: each unread message becomes a request (channel
# "email") and its sender is answered with a link to follow it. Off unless SPRINTBOARD_IMAP_HOST is set.
IMAP_HOST = envstr("SPRINTBOARD_IMAP_HOST")
IMAP_SSL = envbool("SPRINTBOARD_IMAP_SSL", True)  # IMAPS (implicit TLS, port 993)
IMAP_STARTTLS = envbool("SPRINTBOARD_IMAP_STARTTLS", False)  # plain IMAP (port 143) upgraded with STARTTLS
IMAP_PORT = envint("SPRINTBOARD_IMAP_PORT", 993 if IMAP_SSL else 143, minimum=1)
IMAP_USER = envstr("SPRINTBOARD_IMAP_USER")
IMAP_PASSWORD = envsecret("SPRINTBOARD_IMAP_PASSWORD")
IMAP_MAILBOX = envstr("SPRINTBOARD_IMAP_MAILBOX") or "INBOX"
IMAP_PROJECT = envstr("SPRINTBOARD_IMAP_PROJECT")
IMAP_POLL_SECONDS = envint("SPRINTBOARD_IMAP_POLL_SECONDS", 60, minimum=10)
IMAP_TIMEOUT = envint("SPRINTBOARD_IMAP_TIMEOUT", 30, minimum=1)
if IMAP_HOST:
    if IMAP_SSL and IMAP_STARTTLS:
        raise ImproperlyConfigured(
            "SPRINTBOARD_IMAP_SSL and SPRINTBOARD_IMAP_STARTTLS are both on: IMAPS (port 993) is already "
            "encrypted; set SPRINTBOARD_IMAP_SSL=0 to use STARTTLS on port 143."
        )
    if not (IMAP_USER and IMAP_PASSWORD and IMAP_PROJECT):
        raise ImproperlyConfigured(
            "SPRINTBOARD_IMAP_HOST is set, so set SPRINTBOARD_IMAP_USER, SPRINTBOARD_IMAP_PASSWORD (or "
            "SPRINTBOARD_IMAP_PASSWORD_FILE) and SPRINTBOARD_IMAP_PROJECT (the key of the project it feeds, e.g. DATA)."
        )
    CELERY_BEAT_SCHEDULE["intake-mailbox-poll"] = {
        "task": "apps.intake.tasks.intake_mailbox_poll_task",
        "schedule": float(IMAP_POLL_SECONDS),
        "options": {"expires": IMAP_POLL_SECONDS},
    }

# --- Sprintboard --------------------------------------------------------------
BOARD_POLL_INTERVAL_MS = envint("SPRINTBOARD_BOARD_POLL_MS", 1500, minimum=250)
# The longest window (from..to, both included) a flow or waste report may cover: bounds its work and memory.
REPORT_MAX_WINDOW_DAYS = envint("SPRINTBOARD_REPORT_MAX_WINDOW_DAYS", 731, minimum=1)
# The most memory (MB of address space, on top of what the worker process already holds) one report
# computation may take in a Celery worker's pool process; past it the report fails, saying so, and the
# process goes on with the next task (apps.reports.memory). 0: no cap.
REPORT_MAX_MEMORY_MB = envint("SPRINTBOARD_REPORT_MAX_MEMORY_MB", 1024, minimum=0)
# Bounds of on-demand report computations (queued or running, asked for by a person): past either,
# a request that would queue another is answered 429 (the nightly run and a sprint's close are not
# counted). A queued computation not started within REPORTS_QUEUED_EXPIRY_SECONDS is dropped and
# queued again; a report nobody asked for in REPORTS_UNUSED_DAYS is deleted (final sprint reports are kept).
REPORTS_MAX_PENDING_PER_USER = envint("SPRINTBOARD_REPORTS_MAX_PENDING_PER_USER", 10, minimum=1)
REPORTS_MAX_PENDING_PER_PROJECT = envint("SPRINTBOARD_REPORTS_MAX_PENDING_PER_PROJECT", 30, minimum=1)
REPORTS_QUEUED_EXPIRY_SECONDS = envint("SPRINTBOARD_REPORTS_QUEUED_EXPIRY_SECONDS", 3600, minimum=60)
REPORTS_UNUSED_DAYS = envint("SPRINTBOARD_REPORTS_UNUSED_DAYS", 14, minimum=1)
