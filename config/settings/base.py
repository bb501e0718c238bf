"""Settings shared by every environment.

All configuration comes from environment variables through the typed readers
in ``config.env``.  With no environment at all the service runs on embedded
defaults: a SQLite file and a filesystem Celery broker under ``var/``.
"""

from __future__ import annotations

import ipaddress
from datetime import timedelta
from pathlib import Path

import dj_database_url
from celery.schedules import crontab
from csp.constants import NONE, SELF

from config.env import env_bool, env_int, env_list, env_path, env_secret, env_str

BASE_DIR = Path(__file__).resolve().parent.parent.parent
# Where the embedded defaults keep their files.  Loading settings creates
# nothing; ``config.apps.SiteConfig.ready`` makes the folders they need.
VAR_DIR = env_path("VAR_DIR", BASE_DIR / "var")

DEBUG = env_bool("DEBUG", False)
# A secret is required whenever DEBUG is off; development gets a fixed,
# obviously-insecure one so a fresh checkout runs.
SECRET_KEY = env_secret("SECRET_KEY", "dev-insecure-secret-key-change-me" if DEBUG else object())  # type: ignore[arg-type]
if not isinstance(SECRET_KEY, str):  # pragma: no cover - exercised by deployment
    from django.core.exceptions import ImproperlyConfigured

    raise ImproperlyConfigured("Set SECRET_KEY (or SECRET_KEY_FILE); it is required when DEBUG is off.")

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

SITE_NAME = env_str("SITE_NAME", "Capture Consent")
# Issuer for collection tokens and origin of audit checkpoints.
SERVICE_ORIGIN = env_str("SERVICE_ORIGIN", "http://localhost:8000")

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
    "drf_spectacular_sidecar",
    "config.apps.SiteConfig",
    "accounts",
    "signing",
    "audit",
    "consent",
    "collection",
    "erasure",
    "access",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "config.middleware.ApplicationErrorMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

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
                "accounts.context_processors.consoles",
            ],
        },
    },
]

# --- Database ---------------------------------------------------------------
DATABASES = {
    "default": dj_database_url.parse(
        env_str("DATABASE_URL", f"sqlite:///{VAR_DIR / 'db.sqlite3'}"),
        conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 60, minimum=0),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # IMMEDIATE transactions take the write lock at BEGIN, so concurrent
    # writers queue instead of failing with "database is locked" on upgrade.
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 30,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    DATABASES["default"]["CONN_MAX_AGE"] = 0
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "accounts.User"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "accounts:home"
LOGOUT_REDIRECT_URL = "accounts:login"

# Failed logins allowed per window, per account and per client address.
LOGIN_RATE_LIMIT_PER_ACCOUNT = env_int("LOGIN_RATE_LIMIT_PER_ACCOUNT", 5, minimum=1)
LOGIN_RATE_LIMIT_PER_ADDRESS = env_int("LOGIN_RATE_LIMIT_PER_ADDRESS", 20, minimum=1)
LOGIN_RATE_LIMIT_WINDOW_SECONDS = env_int("LOGIN_RATE_LIMIT_WINDOW_SECONDS", 900, minimum=1)

# --- Sign-in hardening: lockout keys, trusted proxies, cache outages -------
# LOGIN_RATE_LIMIT_PER_ACCOUNT counts failures of one account *from one
# address*, so a stranger cannot lock its owner out; this much higher ceiling
# counts an account's failures from everywhere, against guessing spread over
# many addresses (accounts.throttling explains the choice).
LOGIN_RATE_LIMIT_ACCOUNT_CEILING = env_int("LOGIN_RATE_LIMIT_ACCOUNT_CEILING", 100, minimum=1)
# Reverse proxies whose X-Forwarded-For is believed (comma-separated IPs or
# CIDR networks); empty, REMOTE_ADDR is the client.  Checked here so a typo
# stops the service instead of silently trusting nobody.
TRUSTED_PROXIES = env_list("TRUSTED_PROXIES", [])
for _proxy in TRUSTED_PROXIES:
    try:
        ipaddress.ip_network(_proxy, strict=False)
    except ValueError:
        from django.core.exceptions import ImproperlyConfigured

        raise ImproperlyConfigured(
            f"TRUSTED_PROXIES: {_proxy!r} is not an IP address or CIDR network (e.g. 10.0.0.1, 10.0.0.0/8)."
        ) from None
# Sessions live in the database, never in the cache: signing in (and
# staying signed in) must work while Redis is down.
SESSION_ENGINE = "django.contrib.sessions.backends.db"
# A Redis that is down or unreachable must fail a cache call within a second,
# not hang a web worker for the operating system's TCP timeout; the callers
# then degrade (sign-in) or answer 503 (uploads).
REDIS_CONNECT_TIMEOUT_SECONDS = env_int("REDIS_CONNECT_TIMEOUT_SECONDS", 1, minimum=1, maximum=30)
REDIS_SOCKET_TIMEOUT_SECONDS = env_int("REDIS_SOCKET_TIMEOUT_SECONDS", 1, minimum=1, maximum=60)

# --- Cache and broker -------------------------------------------------------
REDIS_URL = env_str("REDIS_URL", "")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "OPTIONS": {
                "socket_connect_timeout": REDIS_CONNECT_TIMEOUT_SECONDS,
                "socket_timeout": REDIS_SOCKET_TIMEOUT_SECONDS,
            },
        }
    }
else:
    # A file cache is shared by the web server and the workers, which rate
    # limiting needs; it needs no server.
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(VAR_DIR / "cache"),
        }
    }

# The filesystem transport ignores the host; naming one keeps kombu from
# warning on every start that none was supplied.
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", REDIS_URL or "filesystem://localhost/")
if CELERY_BROKER_URL.startswith("filesystem://"):
    _queue_dir = VAR_DIR / "celery" / "queue"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_queue_dir),
        "data_folder_out": str(_queue_dir),
        "processed_folder": str(VAR_DIR / "celery" / "processed"),
        "control_folder": str(VAR_DIR / "celery" / "control"),
        "store_processed": False,
    }
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
# --- Celery delivery when a worker or the broker fails (erasure fault tolerance) ---
# Tasks are acknowledged after they ran (acks_late above).  A message whose
# worker died before acknowledging it stays in Redis's "unacked" set and is
# delivered again once this many seconds have passed since it was delivered.
# It must be longer than the longest task (an erasure of the largest subject:
# see `python -m bench erasure`), or a task still running is delivered a
# second time; that is harmless (tasks are idempotent, the database says what
# is pending) but wasted work.  The periodic sweep also picks up anything
# pending, so a lower value only speeds up recovery.
CELERY_VISIBILITY_TIMEOUT_SECONDS = env_int("CELERY_VISIBILITY_TIMEOUT_SECONDS", 3600, minimum=1, maximum=43200)
if CELERY_BROKER_URL.startswith(("redis://", "rediss://")):
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": CELERY_VISIBILITY_TIMEOUT_SECONDS}
# Keep retrying the broker at start (a worker started before Redis waits for it).
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")

# The one place that declares periodic jobs.  Each task loads what is due
# from the database, so a missed or doubled beat is harmless.
CELERY_BEAT_SCHEDULE: dict[str, dict] = {
    "audit-checkpoint": {
        "task": "audit.tasks.make_checkpoint_task",
        "schedule": timedelta(seconds=env_int("AUDIT_CHECKPOINT_INTERVAL_SECONDS", 300, minimum=10)),
    },
    "erasure-requests": {
        "task": "erasure.tasks.process_erasures_task",
        "schedule": timedelta(seconds=env_int("ERASURE_SWEEP_INTERVAL_SECONDS", 60, minimum=5)),
    },
    # Flags erasure requests due within the hour or overdue, once per state (the request row says if done).
    "erasure-watchdog": {
        "task": "erasure.tasks.flag_overdue_erasures_task",
        "schedule": timedelta(seconds=env_int("ERASURE_WATCHDOG_INTERVAL_SECONDS", 60, minimum=5, maximum=3600)),
    },
    "retention": {
        "task": "erasure.tasks.enforce_retention_task",
        "schedule": crontab(minute=17),
    },
    "data-requests-expiry": {
        "task": "access.tasks.expire_requests_task",
        "schedule": timedelta(minutes=10),
    },
    "grants-expiry": {
        "task": "access.tasks.expire_grants_task",
        "schedule": timedelta(minutes=1),
    },
    # Checks often, releases once per CONSENT_RATES_RELEASE_HOURS period (the release table says if it is due).
    "consent-rates-release": {
        "task": "consent.tasks.release_consent_rates_task",
        "schedule": timedelta(minutes=15),
    },
}

# The data controller named in consent receipts (Kantara CR v1.1 piiControllers).
CONSENT_CONTROLLER_NAME = env_str("CONSENT_CONTROLLER_NAME", SITE_NAME)
CONSENT_CONTROLLER_ADDRESS = env_str("CONSENT_CONTROLLER_ADDRESS", "")
CONSENT_CONTROLLER_PHONE = env_str("CONSENT_CONTROLLER_PHONE", "")
CONSENT_JURISDICTION = env_str("CONSENT_JURISDICTION", "EU")
# Consent-rate reports hide any group smaller than this, so nobody's choice
# can be inferred from an aggregate.  A privacy rule, not a deployment knob.
CONSENT_STATS_MIN_GROUP = 5

# --- Consent rates releases (consent.stats, consent.noise) --------------------
# Officers see consent rates only as scheduled releases, never computed on
# demand, so comparing two looks around one account's change reveals nothing
# exact.  One release per period of this many hours (periods start at the Unix
# epoch, so 24 means one per UTC day).
CONSENT_RATES_RELEASE_HOURS = env_int("CONSENT_RATES_RELEASE_HOURS", 24, minimum=1, maximum=24 * 366)
# The differential-privacy budget each release spends (its counts get
# geometric noise of scale sensitivity / epsilon; smaller is more private and
# noisier).  Releases compose: k releases spend k * epsilon in all.
try:
    CONSENT_RATES_EPSILON = float(env_str("CONSENT_RATES_EPSILON", "1.0"))
except ValueError:
    CONSENT_RATES_EPSILON = float("nan")
if not (0 < CONSENT_RATES_EPSILON <= 10):  # also refuses nan and inf
    from django.core.exceptions import ImproperlyConfigured

    raise ImproperlyConfigured("CONSENT_RATES_EPSILON must be a number in (0, 10].")

# Days an erasure request may take before it is overdue (read by erasure.services).
ERASURE_DUE_DAYS = env_int("ERASURE_DUE_DAYS", 30, minimum=1)

# --- Erasure watchdog, retention batches, metrics (erasure.services, erasure.metrics) ---
# The watchdog flags a pending erasure request once when it is due within this many minutes,
# and once more when it is overdue (an audit entry and an error-level log line each).
ERASURE_DUE_SOON_MINUTES = env_int("ERASURE_DUE_SOON_MINUTES", 60, minimum=1, maximum=7 * 24 * 60)
# Retention deletes at most this many chunks per transaction (and audit entry), looping until done.
RETENTION_BATCH_CHUNKS = env_int("RETENTION_BATCH_CHUNKS", 5000, minimum=1, maximum=100_000)
# Bearer token a Prometheus scraper sends to GET /metrics; unset, only signed-in officers and auditors read it.
METRICS_TOKEN = env_str("METRICS_TOKEN", "")

# Data access: a pending request nobody decides expires after this many days;
# a grant lasts at most this many (officers may choose less when approving).
DATA_REQUEST_PENDING_DAYS = env_int("DATA_REQUEST_PENDING_DAYS", 14, minimum=1)
DATA_GRANT_DAYS = env_int("DATA_GRANT_DAYS", 30, minimum=1)

# --- Audit ------------------------------------------------------------------
# Only the test settings turn this on: it lets the test runner lift the audit
# log's append-only guards to flush test-named databases (audit.guards).
AUDIT_GUARDS_SUSPENDABLE_IN_TESTS = False

# --- Audit: checkpoints on demand ---------------------------------------------
# A sensitive action (a dataset export, a completed erasure) asks for a
# checkpoint this many seconds after it commits (audit.services.
# checkpoint_after_commit), so the window in which its entry could be
# rewritten unnoticed is seconds, not the periodic interval; every such
# action within the delay shares one checkpoint.
AUDIT_CHECKPOINT_ON_DEMAND_DELAY_SECONDS = env_int(
    "AUDIT_CHECKPOINT_ON_DEMAND_DELAY_SECONDS", 5, minimum=0, maximum=300
)

# --- Keys -------------------------------------------------------------------
# Ed25519 signing keys (collection tokens, consent receipts, audit
# checkpoints) live as PEM files under this directory, one folder a purpose.
SIGNING_KEY_DIR = env_path("SIGNING_KEY_DIR", VAR_DIR / "keys")
# How long a retired collection-token key stays published: at least the
# longest token lifetime.
SIGNING_KEY_RETIRED_TTL_SECONDS = env_int("SIGNING_KEY_RETIRED_TTL_SECONDS", 2 * 3600, minimum=3600)
# 32-byte master key (base64) that wraps the per-subject data keys.
MASTER_KEY_FILE = env_path("MASTER_KEY_FILE", VAR_DIR / "keys" / "master.key")

# --- REST framework ---------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.authentication.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": [
        "rest_framework.renderers.JSONRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
    ],
    # JSON nested deeper than 32 levels, or repeating a key, is a 400 (config.parsers).
    "DEFAULT_PARSER_CLASSES": ["config.parsers.StrictJSONParser", "rest_framework.parsers.FormParser"],
    "DEFAULT_SCHEMA_CLASS": "config.schema.AutoSchema",
    "EXCEPTION_HANDLER": "config.exceptions.api_exception_handler",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Capture Consent API",
    "DESCRIPTION": (
        "Consent, collection and audit service for programmes that record how employees use "
        'their computers. Errors are JSON objects `{"error": code, "detail": text}`.'
    ),
    "VERSION": "1.0.0",
    # Groups in the docs, in this order (config.schema.tag_for_path assigns them).
    "TAGS": [
        {"name": "auth", "description": "Sign in for a token, list and revoke your tokens, who you are."},
        {
            "name": "consent",
            "description": "Notices, your consent and its receipts, erasure; the allowlist and retention.",
        },
        {"name": "collection", "description": "Capture clients: devices, collection tokens, uploads; your own data."},
        {"name": "requests", "description": "Data requests, reviews, grants, dataset exports and their manifests."},
        {"name": "audit", "description": "The audit log, signed checkpoints and RFC 6962 proofs."},
        {"name": "accounts", "description": "Administrators manage accounts and roles."},
    ],
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    # Swagger UI is served from our own static files, not a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Without deep links Swagger UI renders no link inside each operation's expand button:
    # a link nested in a button is unreachable for screen readers and a too-small tap target
    # (axe-core: nested-interactive, target-size; tests/browser/test_pages.py).
    "SWAGGER_UI_SETTINGS": {"deepLinking": False},
}

# --- Internationalisation, static files ------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

# --- Content-Security-Policy (django-csp, on every response) ---------------
# Scripts, styles, fonts and fetches come from this origin only: no inline
# script or style (none of our templates has any; the API docs load their
# start-up script as a file, config/urls.py), no eval, no plugins.  Images
# may also be data: URIs, which the API docs' stylesheet uses.  No page may
# be framed, change its base URL or post a form elsewhere.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [NONE],
        "frame-ancestors": [NONE],
        "form-action": [SELF],
    },
}

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "filters": {"client_error_without_traceback": {"()": "config.log_filters.ClientErrorWithoutTraceback"}},
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "plain",
            "filters": ["client_error_without_traceback"],
        }
    },
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        # One line per request from the development server; `make run` sets
        # ACCESS_LOG_LEVEL=WARNING so only refused and failed requests show.
        "django.server": {"handlers": ["console"], "level": env_str("ACCESS_LOG_LEVEL", "INFO"), "propagate": False},
    },
}

# --- Collection ---------------------------------------------------------------
# Capture-client tokens, upload rate limits and the key that wraps per-subject data keys.
COLLECTION_TOKEN_LIFETIME_SECONDS = env_int("COLLECTION_TOKEN_LIFETIME_SECONDS", 600, minimum=60, maximum=3600)
COLLECTION_TOKEN_LEEWAY_SECONDS = env_int("COLLECTION_TOKEN_LEEWAY_SECONDS", 30, minimum=0, maximum=300)
# Token bucket per device: sustained uploads per minute, and the burst allowed.
COLLECTION_RATE_LIMIT_PER_MINUTE = env_int("COLLECTION_RATE_LIMIT_PER_MINUTE", 120, minimum=1)
COLLECTION_RATE_LIMIT_BURST = env_int("COLLECTION_RATE_LIMIT_BURST", 20, minimum=1)
# MASTER_KEY (base64 of 32 bytes) wins over the file named by MASTER_KEY_FILE above.
# That file is read when first needed, not here, so only development
# (MASTER_KEY_AUTOCREATE, on with DEBUG) creates it when it is missing.
MASTER_KEY = env_str("MASTER_KEY", "")
MASTER_KEY_AUTOCREATE = env_bool("MASTER_KEY_AUTOCREATE", DEBUG)

# --- Account and device hardening ---------------------------------------------
# API tokens (``Authorization: Token``) stop working this many days after sign-in.
API_TOKEN_LIFETIME_DAYS = env_int("API_TOKEN_LIFETIME_DAYS", 30, minimum=1)
# Active (not revoked) capture devices one employee may hold; enrolling one more is refused.
COLLECTION_MAX_DEVICES_PER_EMPLOYEE = env_int("COLLECTION_MAX_DEVICES_PER_EMPLOYEE", 5, minimum=1)

# --- Set-password links (accounts console) ------------------------------------
# Seconds a one-time set-password link, issued by an administrator for a new
# account or a password reset, stays valid (Django's token generator reads
# this name); three days, so a link handed over on a Friday still works on Monday.
PASSWORD_RESET_TIMEOUT = env_int("PASSWORD_RESET_TIMEOUT", 3 * 24 * 3600, minimum=600, maximum=14 * 24 * 3600)
