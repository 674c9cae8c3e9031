"""Django settings for bp-agents.

Everything that differs between machines comes from the environment through ``config.env``;
the defaults are safe for local use and run the embedded default (SQLite, no Redis needed).
"""

from __future__ import annotations

import os
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

from config.beat import beat_schedule
from config.env import env_bool, env_int, env_list, env_str, parse_database_url
from core.queues import Queue

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("BP_VAR_DIR", str(BASE_DIR / "var")))

DEBUG = env_bool("DEBUG", False)
SECRET_KEY = env_str("SECRET_KEY")
if not SECRET_KEY:
    if DEBUG or env_bool("BP_INSECURE_DEV_KEY", False):
        SECRET_KEY = "insecure-dev-key-only-for-local-use"  # noqa: S105 - local development only
    else:
        raise ImproperlyConfigured("SECRET_KEY is required unless DEBUG=1 (or BP_INSECURE_DEV_KEY=1 for local runs)")

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "config.admin.AdminConfig",  # Django's admin; judges land on their review queue
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI and Redoc served from our own static files (no CDN)
    "csp",
    "economy",
    "market",
    "sandbox",
    "rest_framework.authtoken",
    "attention",
    "evolution",
    "ops",
]

MIDDLEWARE = [
    "ops.metrics.RequestMetricsMiddleware",
    "core.middleware.DatabaseUnavailableMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # Static files under gunicorn with DEBUG=0 (admin CSS, dashboard charts, API docs), compressed and cached.
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "csp.middleware.CSPMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

CSRF_FAILURE_VIEW = "core.exception_handler.csrf_failure"

# Content-Security-Policy on every answer (django-csp): scripts only from this origin (no inline script, no eval),
# nothing framed, no plugins, forms post only here. Inline styles stay allowed (the admin, the dashboard and the API
# docs use style attributes; agent text is escaped everywhere). Swagger UI and Redoc are static files from this
# origin (drf-spectacular-sidecar); Redoc starts its search worker from a blob: URL.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "worker-src": ["'self'", "blob:"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "config" / "templates"],  # the admin home (config/admin.py)
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

DATABASES = {"default": parse_database_url(env_str("DATABASE_URL", "sqlite:///var/bp.sqlite3"), base_dir=BASE_DIR)}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

CACHE_URL = env_str("CACHE_URL", "")
if CACHE_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": CACHE_URL}}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(env_str("STATIC_ROOT", str(VAR_DIR / "static")))
# `manage.py collectstatic` gathers the files into STATIC_ROOT (gzip-compressed copies beside them); WhiteNoise serves
# them from the web process, also under gunicorn with DEBUG=0. No manifest: a page never fails for want of one.
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
# Files the project ships are also served when STATIC_ROOT has not been collected (tests, `make serve`).
WHITENOISE_USE_FINDERS = True
# Files served at the site's root (favicon.ico: browsers ask for it on every page).
WHITENOISE_ROOT = BASE_DIR / "ops" / "root"

# Requests larger than this are refused before parsing (agents post programs and artifacts).
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("BP_MAX_REQUEST_BYTES", 2 * 1024 * 1024)

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "economy.auth.AgentTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
        "rest_framework.authentication.TokenAuthentication",  # judges: Authorization: Token <key>
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_CONTENT_NEGOTIATION_CLASS": "core.negotiation.RememberingContentNegotiation",
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "core.exception_handler.exception_handler",
    "DEFAULT_THROTTLE_CLASSES": ["core.throttling.ScopedRateThrottle"],  # fixed windows, O(1) per request
    "DEFAULT_THROTTLE_RATES": {
        "reads": env_str("BP_THROTTLE_READS", "6000/min"),
        "writes": env_str("BP_THROTTLE_WRITES", "3000/min"),
    },
    "UNAUTHENTICATED_USER": None,
}

SPECTACULAR_SETTINGS = {
    "TITLE": "bp-agents API",
    "DESCRIPTION": "The economy's API for agents, judges and operators.",
    "VERSION": "0.1.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "PATH_CONVERTER_OVERRIDES": {"id": int},
    "POSTPROCESSING_HOOKS": ["drf_spectacular.hooks.postprocess_schema_enums", "core.schema.add_error_responses"],
    "ENUM_NAME_OVERRIDES": {
        "BidStatusEnum": "market.models.Bid.Status",  # attention bids share these choices
        "HumanRewardStatusEnum": "attention.models.HumanReward.Status",
    },
    # Swagger UI and Redoc come from drf-spectacular-sidecar's static files: the docs work offline, same-origin.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# --- Celery (distributed mode) ---------------------------------------------------------------
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", "redis://127.0.0.1:6379/0")
CELERY_RESULT_BACKEND = env_str("CELERY_RESULT_BACKEND", None)
CELERY_TASK_ALWAYS_EAGER = False
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_DEFAULT_QUEUE = Queue.DEFAULT.value
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": env_int("CELERY_VISIBILITY_TIMEOUT", 3600),
    "socket_keepalive": True,  # notice a broker that vanished without closing its connections
    "health_check_interval": 10,  # PING an idle connection before using it again
}
# Broker outages (a Redis restart) are survived, never given up on: the consumer reconnects for as long as it takes
# (Celery's default gives up after 100 attempts and the worker exits); a running execution keeps its container
# (cancelling it would waste the agent's paid run: its ack fails, Redis re-delivers it later and the claim, already
# taken, turns the copy into a no-op). Run every process under a supervisor anyway (README, distributed mode).
CELERY_BROKER_CONNECTION_RETRY = True
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_CONNECTION_MAX_RETRIES = None
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = False
CELERY_WORKER_SEND_TASK_EVENTS = True
CELERY_TASK_SEND_SENT_EVENT = True
# Workers (not web processes) load the Docker host's task module; web processes publish it by name.
CELERY_IMPORTS = ("sandbox.worker_tasks",)

# --- The market -----------------------------------------------------------------------------
MARKET_TICK_SECONDS = env_int("MARKET_TICK_SECONDS", 10)
MARKET_BID_FEE = env_int("MARKET_BID_FEE", 1)
MARKET_MAX_BID = env_int("MARKET_MAX_BID", 10**12)
MARKET_BUNDLE_LIMITS = {
    "cpu_millicores": (env_int("MARKET_MIN_CPU_MILLICORES", 50), env_int("MARKET_MAX_CPU_MILLICORES", 2000)),
    "memory_mb": (env_int("MARKET_MIN_MEMORY_MB", 16), env_int("MARKET_MAX_MEMORY_MB", 1024)),
    "wall_seconds": (env_int("MARKET_MIN_WALL_SECONDS", 1), env_int("MARKET_MAX_WALL_SECONDS", 120)),
}
# Supply when no worker host has reported its capacity (one machine).
MARKET_DEFAULT_CPU_MILLICORES = env_int("MARKET_DEFAULT_CPU_MILLICORES", 1000 * (os.cpu_count() or 1))
MARKET_DEFAULT_MEMORY_MB = env_int("MARKET_DEFAULT_MEMORY_MB", 2048)
MARKET_WORKER_TTL_SECONDS = env_int("MARKET_WORKER_TTL_SECONDS", 120)
# What one worker host may plausibly offer (its heartbeat is refused outside these bounds).
MARKET_WORKER_CPU_MILLICORES_BOUNDS = (
    env_int("MARKET_WORKER_MIN_CPU_MILLICORES", 100),
    env_int("MARKET_WORKER_MAX_CPU_MILLICORES", 1_024_000),
)
MARKET_WORKER_MEMORY_MB_BOUNDS = (
    env_int("MARKET_WORKER_MIN_MEMORY_MB", 64),
    env_int("MARKET_WORKER_MAX_MEMORY_MB", 16 * 1024 * 1024),
)


# --- The sandbox ----------------------------------------------------------------------------
# Worker hosts need only these (no database): the API to talk to and their own token and name.
BP_API_URL = env_str("BP_API_URL", "http://127.0.0.1:8000")
BP_WORKER_TOKEN = env_str("BP_WORKER_TOKEN", "")
BP_WORKER_NAME = env_str("BP_WORKER_NAME", "")  # empty: the worker token's name (the API tells the worker)
BP_DEPLOYMENT = env_str("BP_DEPLOYMENT", "")  # empty: derived from BP_API_URL (names and labels containers)
BP_WORKER_CPU_MILLICORES = env_int("BP_WORKER_CPU_MILLICORES", 1000 * (os.cpu_count() or 1))
BP_WORKER_MEMORY_MB = env_int("BP_WORKER_MEMORY_MB", 2048)
SANDBOX_CAPACITY_HEARTBEAT_SECONDS = env_int("SANDBOX_CAPACITY_HEARTBEAT_SECONDS", 30)
SANDBOX_STAGING_DIR = env_str("SANDBOX_STAGING_DIR", None)  # must be on the docker host; default: the temp dir
# Limits the API hands to workers with each execution.
SANDBOX_IMAGE = env_str("SANDBOX_IMAGE", "")  # empty: bp-agent-runtime:<hash of sandbox/runtime>
SANDBOX_WORKSPACE_MAX_BYTES = env_int("SANDBOX_WORKSPACE_MAX_BYTES", 512 * 1024)
SANDBOX_WORKSPACE_MAX_FILES = env_int("SANDBOX_WORKSPACE_MAX_FILES", 256)
SANDBOX_ARTIFACT_MAX_CHARS = env_int("SANDBOX_ARTIFACT_MAX_CHARS", 64 * 1024)
SANDBOX_LOG_CAP = env_int("SANDBOX_LOG_CAP", 64 * 1024)
SANDBOX_PIDS_LIMIT = env_int("SANDBOX_PIDS_LIMIT", 64)
SANDBOX_POOL_SIZE = env_int("SANDBOX_POOL_SIZE", 2)  # warm containers per worker process; 0: off
SANDBOX_LEASE_SECONDS = env_int("SANDBOX_LEASE_SECONDS", 30)
SANDBOX_TOKEN_MARGIN_SECONDS = env_int("SANDBOX_TOKEN_MARGIN_SECONDS", 60)
SANDBOX_TASK_TIME_LIMIT = env_int("SANDBOX_TASK_TIME_LIMIT", MARKET_BUNDLE_LIMITS["wall_seconds"][1] + 180)
SANDBOX_REAP_SECONDS = env_int("SANDBOX_REAP_SECONDS", 15)
# A QUEUED execution nobody claimed is sent again after this long, then after twice as long each time, up to the max.
SANDBOX_REDISPATCH_SECONDS = env_int("SANDBOX_REDISPATCH_SECONDS", 2 * SANDBOX_LEASE_SECONDS)
SANDBOX_REDISPATCH_MAX_SECONDS = env_int("SANDBOX_REDISPATCH_MAX_SECONDS", 1800)
# How long a starting sandbox worker waits for the API to confirm its token before it gives up (exit status 69).
SANDBOX_WORKER_STARTUP_WAIT_SECONDS = env_int("SANDBOX_WORKER_STARTUP_WAIT_SECONDS", 60)
# "celery": winners' executions are sent to the sandbox queue; "embedded": run_economy runs them itself.
SANDBOX_DISPATCH = env_str("SANDBOX_DISPATCH", "celery")

# --- Attention and judges ------------------------------------------------------------------
ATTENTION_TICK_SECONDS = env_int("ATTENTION_TICK_SECONDS", 30)
# The reserve price's starting value and bounds, in whole credits (staff change them later in the admin). Keep the
# floor at 5 or more: below it even the controller's largest step (12.5 %) rounds to no change.
ATTENTION_RESERVE_PRICE = env_int("ATTENTION_RESERVE_PRICE", 20)
ATTENTION_PRICE_FLOOR = env_int("ATTENTION_PRICE_FLOOR", 10)
ATTENTION_PRICE_CEILING = env_int("ATTENTION_PRICE_CEILING", 1_000_000)
# Slots each attention tick sells (uniform price: every winner pays the first losing bid, at least the reserve).
ATTENTION_SLOTS = env_int("ATTENTION_SLOTS", 1)
REWARD_PER_POINT = env_int("REWARD_PER_POINT", 100)  # credits minted per point of a judge's score (0..10)
ATTENTION_JUDGE = env_str("ATTENTION_JUDGE", "")  # module:function scoring artifacts unattended; empty: human judges
ATTENTION_JUDGE_TARGET = env_str("ATTENTION_JUDGE_TARGET", "")  # the phrase attention.judges:target_judge rewards
ATTENTION_JUDGE_SECONDS = env_int("ATTENTION_JUDGE_SECONDS", 10)

# --- The economy ----------------------------------------------------------------------------
# Money is an integer count of the smallest unit ("credits").
BP_MAX_AMOUNT = env_int("BP_MAX_AMOUNT", 10**15)
BP_MEMO_MAX_LENGTH = env_int("BP_MEMO_MAX_LENGTH", 200)
# Web processes keep the agent tokens they looked up for reads this long at most (0: never), and forget one as soon as
# PostgreSQL notifies that it or its agent changed (economy.token_cache); writes always look the token up.
BP_AUTH_CACHE_SECONDS = env_int("BP_AUTH_CACHE_SECONDS", 60)

# --- Operations: health and metrics -----------------------------------------------------------
# /healthz answers 503 when the newest market tick is older than this (beat or the ticks worker has stopped).
HEALTH_MAX_TICK_AGE_SECONDS = env_int("HEALTH_MAX_TICK_AGE_SECONDS", max(60, 3 * MARKET_TICK_SECONDS))
# /metrics is for these client addresses, for `Authorization: Bearer <METRICS_TOKEN>` when set, and for staff.
METRICS_ALLOWED_IPS = env_list("METRICS_ALLOWED_IPS", ["127.0.0.1", "::1"])
METRICS_TOKEN = env_str("METRICS_TOKEN", "")
# Where people reach the web service (printed by add_judge and the stack); empty: paths only.
BP_PUBLIC_URL = env_str("BP_PUBLIC_URL", "")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    # Refused requests (4xx) are part of an agent economy's normal life; server errors are still logged.
    "loggers": {"django.request": {"level": env_str("REQUEST_LOG_LEVEL", "ERROR")}},
}

# --- Evolution: life cycle and the embedded economy --------------------------------------------
GENESIS_ENDOWMENT = env_int("GENESIS_ENDOWMENT", 4000)
SPAWN_FEE = env_int("SPAWN_FEE", 20)
SPAWN_MIN_ENDOWMENT = env_int("SPAWN_MIN_ENDOWMENT", 50)
POPULATION_CAP = env_int("POPULATION_CAP", 64)
# Upkeep per life tick: a flat rent plus demurrage, a share of the balance (basis points; 1000 = 10 %), so that
# hoarding costs and the money supply stays bounded (see the README's economics).
UPKEEP_PER_TICK = env_int("UPKEEP_PER_TICK", 20)
UPKEEP_DEMURRAGE_BP = env_int("UPKEEP_DEMURRAGE_BP", 1000)
IDLE_TICKS_LIMIT = env_int("IDLE_TICKS_LIMIT", 3)  # an agent that won no compute in this many ticks dies (0: never)
MESSAGE_MAX_CHARS = env_int("MESSAGE_MAX_CHARS", 2000)
# Where new messages are published for live consumers (channel bp:messages:<agent id>); empty: not published.
BP_REDIS_URL = env_str("BP_REDIS_URL", CELERY_BROKER_URL)

# --- The beat schedule (config/beat.py builds it; every entry runs on the ticks queue) ------------------------
CELERY_BEAT_SCHEDULE = beat_schedule(
    market_tick=MARKET_TICK_SECONDS,
    attention_tick=ATTENTION_TICK_SECONDS,
    sandbox_reap=SANDBOX_REAP_SECONDS,
    judge=ATTENTION_JUDGE_SECONDS if ATTENTION_JUDGE else None,
)
