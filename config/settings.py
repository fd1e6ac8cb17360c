"""All settings, read from the environment in this one module.

Embedded defaults (SQLite, a filesystem Celery broker, a private local media folder, console mail)
let `make demo` run on one machine with nothing but Python; the variables documented in the README
switch each concern to its engine at scale (PostgreSQL, Redis, S3-compatible storage, SMTP).
"""

import importlib
from pathlib import Path

import environ
from django.utils.translation import gettext_lazy as _
from kombu import Queue

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()

DEBUG = env.bool("DEBUG", default=True)

# The insecure defaults exist only for the embedded demo; production sets DEBUG=0 and real keys.
_DEV_SECRET = "insecure-demo-secret-key-change-me-in-production-0123456789abcdef"  # noqa: S105
SECRET_KEY = env.str("SECRET_KEY", default=_DEV_SECRET if DEBUG else environ.Env.NOTSET)
# Key of the HMAC that turns a site's local patient ID into a pseudonym. Changing it breaks the
# link between new and existing pseudonyms, so production must set it once and keep it secret.
PSEUDONYM_KEY = env.str(
    "PSEUDONYM_KEY", default="insecure-demo-pseudonym-key" if DEBUG else environ.Env.NOTSET
)

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

DATA_DIR = Path(env.str("DATA_DIR", default=str(BASE_DIR / "var")))

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "guardian",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "imagebank",
    "curation",
    "access_requests",
    "model_bench",
    "portal",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # An outage raised by a view (DRF's too) answers 503 + Retry-After, JSON under /api/; outside
    # a view config.urls.handler500 does the same (docs/deployment.md, "When a service is out").
    "imagebank.outage_responses.OutageResponseMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Content-Security-Policy (CONTENT_SECURITY_POLICY below) and no-store on private answers.
    "csp.middleware.CSPMiddleware",
    "imagebank.http_headers.NoStoreForPrivateAnswersMiddleware",
    # The audit of reads (docs/audit.md): one row per read of a case, image or report.
    "imagebank.read_audit.ReadAuditMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "imagebank.middleware.RequireMFAForPrivilegedRolesMiddleware",
]
# How long an answer to an outage (503) tells clients to wait before trying again: Retry-After.
OUTAGE_RETRY_AFTER_SECONDS = env.int("OUTAGE_RETRY_AFTER_SECONDS", default=30)

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
                "portal.context_processors.navigation",
            ],
        },
    },
]

# An empty DATABASE_URL (as compose files and CI scripts leave it) means the embedded default.
_database_url = env.str("DATABASE_URL", default="") or f"sqlite:///{DATA_DIR / 'imagebank.sqlite3'}"
if _database_url.startswith("sqlite:"):
    DATA_DIR.mkdir(parents=True, exist_ok=True)
DATABASES = {"default": env.db_url_config(_database_url)}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the web process read while the worker writes, as in the demo. IMMEDIATE makes
    # every transaction take the write lock when it begins, so a writer waits (up to `timeout`
    # seconds) instead of failing at once with "database is locked" when a read transaction
    # would have to be upgraded while the other process writes.
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL;",
        "timeout": 20,
        "transaction_mode": "IMMEDIATE",
    }
else:
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "imagebank.User"
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
    "guardian.backends.ObjectPermissionBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "portal:dashboard"
LOGOUT_REDIRECT_URL = "portal:home"

# django-allauth: email is the login; MFA is offered to everyone and enforced for curators and
# access-committee members by RequireMFAForPrivilegedRolesMiddleware.
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION = True
ACCOUNT_LOGOUT_ON_GET = False
# --- Sign-up and invitations: see README "Accounts" and docs/deployment.md, "Sign-up" ---------
# Open sign-up gives nothing but a researcher account (access_requests.signals), who then
# requests access; SIGNUP_OPEN=0 closes it. Every other role's account is given out by a
# curator's invitation (/invitations/new/), never by sign-up. Sign-up and password reset answer
# the same for a registered and an unregistered address: allauth can do so on sign-up only when
# email verification is mandatory (a known address is mailed "you already have an account"
# instead of a confirmation link, behind the same "check your mail" page). Accounts made by an
# administrator or an invitation count as verified (imagebank.adapters).
ACCOUNT_ADAPTER = "imagebank.adapters.BankAccountAdapter"
SIGNUP_OPEN = env.bool("SIGNUP_OPEN", default=True)
ACCOUNT_EMAIL_VERIFICATION = env.str("ACCOUNT_EMAIL_VERIFICATION", default="mandatory")
ACCOUNT_PREVENT_ENUMERATION = True
# ACCOUNT_RATE_LIMITS: in the sign-in limits block at the end, next to django-axes'.
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
MFA_TOTP_ISSUER = "Cervical Image Bank"

GUARDIAN_RAISE_403 = True
ANONYMOUS_USER_NAME = None  # guardian: anonymous visitors get no object permissions at all

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # Token first, so an anonymous API call is told 401 (with how to authenticate), not 403.
        # The bank's own tokens: hashed, expiring, revocable, two-factor aware (issue 8).
        "imagebank.authentication.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "EXCEPTION_HANDLER": "imagebank.api.base.exception_handler",
    # Deny by default: an endpoint that forgets to name its permission refuses everyone.
    "DEFAULT_PERMISSION_CLASSES": ["imagebank.api.permissions.DenyAll"],
    # Documents every operation's error answers and list parameters (docs/api.md, Errors).
    "DEFAULT_SCHEMA_CLASS": "imagebank.api.schema.BankAutoSchema",
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_THROTTLE_RATES": {"user": "2000/hour", "anon": "100/hour"},
}
# API tokens (imagebank.services.tokens, docs/api.md): every token expires. A token lives
# API_TOKEN_DEFAULT_DAYS unless a shorter life is asked for, never more than API_TOKEN_MAX_DAYS; a
# user holds at most API_TOKEN_MAX_ACTIVE unrevoked, unexpired tokens. A token's use is written
# to the audit at most once per token and client address every API_TOKEN_USE_AUDIT_MINUTES
# (its last_used_at is always kept).
API_TOKEN_DEFAULT_DAYS = env.int("API_TOKEN_DEFAULT_DAYS", default=90)
API_TOKEN_MAX_DAYS = env.int("API_TOKEN_MAX_DAYS", default=365)
API_TOKEN_MAX_ACTIVE = env.int("API_TOKEN_MAX_ACTIVE", default=20)
API_TOKEN_USE_AUDIT_MINUTES = env.int("API_TOKEN_USE_AUDIT_MINUTES", default=15)

SPECTACULAR_SETTINGS = {
    "TITLE": "Cervical Image Bank API",
    "DESCRIPTION": "Contribute and read colposcopy and VIA examinations.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "COMPONENT_SPLIT_REQUEST": True,
    # Served from the sidecar package: the docs page works offline, with no CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("fr", _("French")), ("es", _("Spanish"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = Path(env.str("STATIC_ROOT", default=str(DATA_DIR / "static")))
# Static files live in each app's static/<app>/ folder, found by the app-directories finder.

# Files. Private by design: there is no MEDIA_URL route, and files reach users only through
# permission-checked views (imagebank.views.files). With S3 those views redirect to short-lived
# signed URLs.
MEDIA_ROOT = Path(env.str("MEDIA_ROOT", default=str(DATA_DIR / "private-media")))
MEDIA_URL = "/private-media-is-never-served/"
AWS_STORAGE_BUCKET_NAME = env.str("AWS_STORAGE_BUCKET_NAME", default="")
USE_S3 = bool(AWS_STORAGE_BUCKET_NAME)
SIGNED_URL_SECONDS = env.int("SIGNED_URL_SECONDS", default=60)
# An S3 server that is down or frozen fails a call within about this many seconds to connect
# (and STORAGE_READ_TIMEOUT_SECONDS to answer), with one retry, instead of botocore's default of a
# minute per try and five tries: a web request answers 503 and a task retries later.
STORAGE_CONNECT_TIMEOUT_SECONDS = env.float("STORAGE_CONNECT_TIMEOUT_SECONDS", default=3.0)
STORAGE_READ_TIMEOUT_SECONDS = env.float("STORAGE_READ_TIMEOUT_SECONDS", default=30.0)
if USE_S3:
    from botocore.config import Config as _BotoConfig

    _default_storage = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": AWS_STORAGE_BUCKET_NAME,
            "endpoint_url": env.str("AWS_S3_ENDPOINT_URL", default="") or None,
            "access_key": env.str("AWS_ACCESS_KEY_ID", default="") or None,
            "secret_key": env.str("AWS_SECRET_ACCESS_KEY", default="") or None,
            "region_name": env.str("AWS_S3_REGION_NAME", default="us-east-1"),
            "client_config": _BotoConfig(
                s3={"addressing_style": env.str("AWS_S3_ADDRESSING_STYLE", default="path")},
                signature_version="s3v4",
                connect_timeout=STORAGE_CONNECT_TIMEOUT_SECONDS,
                read_timeout=STORAGE_READ_TIMEOUT_SECONDS,
                retries={"max_attempts": 2, "mode": "standard"},
            ),
            "default_acl": "private",
            "querystring_auth": True,
            "querystring_expire": SIGNED_URL_SECONDS,
            "file_overwrite": True,  # keys are content hashes: same key, same bytes
        },
    }
else:
    _default_storage = {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": str(MEDIA_ROOT), "directory_permissions_mode": 0o750},
    }
STORAGES = {
    "default": _default_storage,
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}

# Uploads: a hard ceiling per request; bigger files are refused before they are stored.
MAX_UPLOAD_BYTES = env.int("MAX_UPLOAD_BYTES", default=200 * 1024 * 1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
DATA_UPLOAD_MAX_NUMBER_FILES = 200
# Decompression-bomb guard for Pillow (pixels per image).
MAX_IMAGE_PIXELS = env.int("MAX_IMAGE_PIXELS", default=80_000_000)
# Imports (see docs/ingest.md): one file sent to the import page or API may be a whole archive,
# so its limit is larger than an image's; what an archive may unpack to is bounded separately.
INGEST_MAX_UPLOAD_BYTES = env.int("INGEST_MAX_UPLOAD_BYTES", default=2 * 1024**3)
INGEST_ZIP_MAX_MEMBERS = env.int("INGEST_ZIP_MAX_MEMBERS", default=10_000)
INGEST_ZIP_MAX_TOTAL_BYTES = env.int("INGEST_ZIP_MAX_TOTAL_BYTES", default=4 * 1024**3)
INGEST_ZIP_MAX_RATIO = env.int("INGEST_ZIP_MAX_RATIO", default=100)
PREVIEW_MAX_SIDE = 1024
THUMBNAIL_MAX_SIDE = 256

# Celery: Redis when REDIS_URL is set, otherwise kombu's filesystem transport (a real worker
# process with no broker server, for the demo). docs/deployment.md, "Workers, time limits and
# timeouts", explains each value below.
REDIS_URL = env.str("REDIS_URL", default="")
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_TASK_EAGER_PROPAGATES = True
# No web request waits on a frozen or unreachable Redis for more than about this many seconds
# (twice, with the one reconnection a publish may try): the broker's and the cache's socket
# timeouts. A task that cannot be sent is left to the reconciler (imagebank.durable.send_task).
BROKER_TIMEOUT_SECONDS = env.float("BROKER_TIMEOUT_SECONDS", default=2.0)
# Longer than the longest hard time limit of any task (tests/test_worker_settings.py checks it):
# Redis hands an unacknowledged message to another worker only after this, so a shorter value
# would run a long task twice at once.
CELERY_VISIBILITY_TIMEOUT_SECONDS = env.int("CELERY_VISIBILITY_TIMEOUT_SECONDS", default=7200)
if REDIS_URL:
    CELERY_BROKER_URL = REDIS_URL
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "visibility_timeout": CELERY_VISIBILITY_TIMEOUT_SECONDS,
        "socket_timeout": BROKER_TIMEOUT_SECONDS,
        "socket_connect_timeout": BROKER_TIMEOUT_SECONDS,
        "socket_keepalive": True,
        "health_check_interval": 25,
    }
else:
    _broker_dir = DATA_DIR / "broker"
    CELERY_BROKER_URL = "filesystem://"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "processed_folder": str(_broker_dir / "processed"),
        "control_folder": str(_broker_dir / "control"),
        "store_processed": False,
    }
    for _folder in ("queue", "processed", "control"):
        (_broker_dir / _folder).mkdir(parents=True, exist_ok=True)
CELERY_BROKER_CONNECTION_TIMEOUT = BROKER_TIMEOUT_SECONDS
# Publishing from a web request: one reconnection at once, then give up (the reconciler sends it).
CELERY_TASK_PUBLISH_RETRY_POLICY = {
    "max_retries": 1,
    "interval_start": 0,
    "interval_step": 0.2,
    "interval_max": 0.2,
}
# A worker whose broker went away keeps trying to reconnect, for ever, instead of exiting.
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_CONNECTION_MAX_RETRIES = None
# A task running when the broker connection drops finishes its work (every task is idempotent, so
# the redelivered message then finds nothing to do) rather than being cancelled midway.
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = False
CELERY_TASK_IGNORE_RESULT = True
CELERY_RESULT_BACKEND = None
# Acknowledge a message once its task has finished, and give it back when its worker dies mid-task
# (imagebank.durable.DurableTask sets both on every task; these are the app-wide defaults).
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_DEFAULT_QUEUE = "default"
# Each app declares its own queues and task routes in <app>/queues.py; they are composed here, and
# a worker started without -Q consumes every declared queue.
CELERY_TASK_ROUTES: dict[str, dict[str, str]] = {}
CELERY_QUEUE_NAMES = ["default"]
for _app in ("imagebank", "curation", "access_requests", "model_bench"):
    _queues = importlib.import_module(f"{_app}.queues")
    CELERY_TASK_ROUTES.update(_queues.TASK_ROUTES)
    CELERY_QUEUE_NAMES += [name for name in _queues.QUEUES if name not in CELERY_QUEUE_NAMES]
CELERY_TASK_QUEUES = [Queue(name, routing_key=name) for name in CELERY_QUEUE_NAMES]
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]

# The reconciler (imagebank.reconcile; docs/deployment.md, "The reconciler"): Celery beat runs it
# every RECONCILE_EVERY_SECONDS; `manage.py reconcile` runs the same pass by hand.
RECONCILE_EVERY_SECONDS = env.int("RECONCILE_EVERY_SECONDS", default=60)
# Dataset releases (curation.services.releases; docs/releases.md): a build not finished within
# RELEASE_BUILD_LEASE_SECONDS of its start (or a queued one not started) is sent to a worker
# again, up to RELEASE_BUILD_MAX_ATTEMPTS starts; every published release's stored files are
# re-hashed every RELEASE_AUDIT_EVERY_SECONDS.
# Governed access (access_requests; docs/access.md): the committee votes a request needs before
# the majority decides, a grant's length in days, and how long a group invitation's link lasts.
ACCESS_QUORUM = env.int("ACCESS_QUORUM", default=2)
GRANT_DAYS = env.int("GRANT_DAYS", default=365)
ACCESS_INVITATION_DAYS = env.int("ACCESS_INVITATION_DAYS", default=14)
RELEASE_BUILD_LEASE_SECONDS = env.int("RELEASE_BUILD_LEASE_SECONDS", default=3 * 3600)
RELEASE_BUILD_MAX_ATTEMPTS = env.int("RELEASE_BUILD_MAX_ATTEMPTS", default=3)
RELEASE_AUDIT_EVERY_SECONDS = env.int("RELEASE_AUDIT_EVERY_SECONDS", default=24 * 3600)
# Benchmark jobs (model_bench; docs/benchmarks.md): a running job whose worker gave no sign of
# life for BENCHMARK_LEASE_SECONDS (it beats at least every BENCHMARK_HEARTBEAT_SECONDS while
# training) is queued again, up to BENCHMARK_MAX_ATTEMPTS starts, then failed with the reason; a
# queued job nobody took within the lease is sent again. BENCHMARK_DEVICE forces "cpu" or "cuda"
# (empty: a GPU when the worker has one).
BENCHMARK_LEASE_SECONDS = env.int("BENCHMARK_LEASE_SECONDS", default=900)
BENCHMARK_HEARTBEAT_SECONDS = env.int("BENCHMARK_HEARTBEAT_SECONDS", default=5)
BENCHMARK_MAX_ATTEMPTS = env.int("BENCHMARK_MAX_ATTEMPTS", default=2)
BENCHMARK_DEVICE = env.str("BENCHMARK_DEVICE", default="")
# Submissions (model_bench.services.submissions; docs/benchmarks.md): per research group and
# task, at most BENCHMARK_SUBMISSIONS_PER_DAY in any 24 hours and BENCHMARK_SUBMISSIONS_PER_TASK
# in all (the test phase's limit); invalid ones count toward neither. A predictions file is at
# most SUBMISSION_MAX_CSV_BYTES. The board shows each group's "best" or "latest" entry. Scoring
# whose worker gave no sign of life for BENCHMARK_SCORING_LEASE_SECONDS is taken up again, up to
# BENCHMARK_SCORING_MAX_ATTEMPTS starts.
BENCHMARK_SUBMISSIONS_PER_DAY = env.int("BENCHMARK_SUBMISSIONS_PER_DAY", default=3)
BENCHMARK_SUBMISSIONS_PER_TASK = env.int("BENCHMARK_SUBMISSIONS_PER_TASK", default=30)
SUBMISSION_MAX_CSV_BYTES = env.int("SUBMISSION_MAX_CSV_BYTES", default=20 * 1024 * 1024)
# A segmentation task's ZIP of mask PNGs, and an ONNX model, are at most these sizes. A submitted
# model runs on a benchmark worker in a child process with SUBMISSION_ONNX_THREADS CPU threads,
# at most SUBMISSION_ONNX_SECONDS of wall-clock time and SUBMISSION_ONNX_MEMORY_MB of memory.
SUBMISSION_MAX_ZIP_BYTES = env.int("SUBMISSION_MAX_ZIP_BYTES", default=100 * 1024 * 1024)
SUBMISSION_MAX_ONNX_BYTES = env.int("SUBMISSION_MAX_ONNX_BYTES", default=100 * 1024 * 1024)
SUBMISSION_ONNX_SECONDS = env.int("SUBMISSION_ONNX_SECONDS", default=600)
SUBMISSION_ONNX_MEMORY_MB = env.int("SUBMISSION_ONNX_MEMORY_MB", default=4096)
SUBMISSION_ONNX_THREADS = env.int("SUBMISSION_ONNX_THREADS", default=2)
BENCHMARK_LEADERBOARD_POLICY = env.str("BENCHMARK_LEADERBOARD_POLICY", default="best")
BENCHMARK_SCORING_LEASE_SECONDS = env.int("BENCHMARK_SCORING_LEASE_SECONDS", default=600)
BENCHMARK_SCORING_MAX_ATTEMPTS = env.int("BENCHMARK_SCORING_MAX_ATTEMPTS", default=3)
CELERY_BEAT_SCHEDULE = {
    "reconcile": {
        "task": "imagebank.tasks.reconcile",
        "schedule": RECONCILE_EVERY_SECONDS,
        # A pass that waited longer than the interval is replaced by the next one.
        "options": {"expires": RECONCILE_EVERY_SECONDS},
    },
    "end-expired-grants": {
        "task": "access_requests.tasks.end_expired_grants",
        "schedule": 3600,
        "options": {"expires": 3600},
    },
    "grant-reminders": {
        "task": "access_requests.tasks.send_grant_reminders",
        "schedule": 6 * 3600,
        "options": {"expires": 6 * 3600},
    },
    "audit-releases": {
        "task": "curation.tasks.audit_releases",
        "schedule": RELEASE_AUDIT_EVERY_SECONDS,
        "options": {"expires": RELEASE_AUDIT_EVERY_SECONDS},
    },
}
# An image whose processing message has not produced a result after this is sent again (the
# wait doubles with each start of its task); after IMAGE_MAX_ATTEMPTS starts it is failed.
IMAGE_REQUEUE_AFTER_SECONDS = env.int("IMAGE_REQUEUE_AFTER_SECONDS", default=900)
IMAGE_MAX_ATTEMPTS = env.int("IMAGE_MAX_ATTEMPTS", default=5)
# A queued import not taken after this is sent again; a running one whose worker gave no sign of
# life for INGEST_LEASE_SECONDS is resumed (or failed after INGEST_MAX_ATTEMPTS).
INGEST_REQUEUE_AFTER_SECONDS = env.int("INGEST_REQUEUE_AFTER_SECONDS", default=900)
INGEST_LEASE_SECONDS = env.int("INGEST_LEASE_SECONDS", default=600)
INGEST_HEARTBEAT_SECONDS = env.int("INGEST_HEARTBEAT_SECONDS", default=30)
INGEST_MAX_ATTEMPTS = env.int("INGEST_MAX_ATTEMPTS", default=3)
# A submitted case whose checks have not started or finished after this is sent to them again.
CHECKS_REQUEUE_AFTER_SECONDS = env.int("CHECKS_REQUEUE_AFTER_SECONDS", default=1800)
# The expert review queue (curation.services.reviews; docs/review.md, "The queue, claims and
# consensus"): a reviewer's claim on a case lasts REVIEW_CLAIM_MINUTES, after which the case goes
# back to the queue; each case needs REVIEWS_REQUIRED independent reviews. REVIEW_AGREEMENT says
# what "the reviews agree" means: the decision and each label, "exact" or {"within": n} (numbers
# at most n apart); a label neither reviewer gave an opinion on is the contributor's and agrees.
REVIEW_CLAIM_MINUTES = env.int("REVIEW_CLAIM_MINUTES", default=30)
REVIEWS_REQUIRED = env.int("REVIEWS_REQUIRED", default=2)
REVIEW_AGREEMENT = env.json(
    "REVIEW_AGREEMENT",
    default={
        "decision": "exact",
        "transformation_zone": "exact",
        "scj_visibility": "exact",
        "provisional_diagnosis": "exact",
        "swede_total": {"within": 1},
    },
)
# The portal's address as people reach it (https://bank.example.org): links in mails are absolute
# where it is set, paths otherwise.
SITE_URL = env("SITE_URL", default="")
# Task failures are kept this long for the operations page (the reconciler's pass prunes them).
TASK_FAILURE_KEEP_DAYS = env.int("TASK_FAILURE_KEEP_DAYS", default=90)

# The cache shares Redis with the broker: the same timeouts, so a frozen Redis fails fast.
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "OPTIONS": {
                "socket_timeout": BROKER_TIMEOUT_SECONDS,
                "socket_connect_timeout": BROKER_TIMEOUT_SECONDS,
            },
        }
    }
else:
    # Per process, for the demo and tests. Room for a large release's archive CRC-32s (one small
    # entry per member, access_requests.services.downloads), which the default 300 would evict.
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "OPTIONS": {"MAX_ENTRIES": 100_000},
        }
    }

# Mail: console by default, SMTP (or any backend) through EMAIL_URL, e.g. smtp+tls://u:p@host:587
vars().update(env.email_url("EMAIL_URL", default="consolemail://"))
DEFAULT_FROM_EMAIL = env.str(
    "DEFAULT_FROM_EMAIL", default="Cervical Image Bank <noreply@localhost>"
)
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# Security: strict when DEBUG is off; `manage.py check --deploy` passes with the documented
# production variables.
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
if not DEBUG:
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=False)
    # Preloading is a commitment to HTTPS for the whole domain that a hospital opts into;
    # without it, check --deploy's reminder (W021) is expected, not a fault.
    SILENCED_SYSTEM_CHECKS = [] if SECURE_HSTS_PRELOAD else ["security.W021"]


# --- Content-Security-Policy (django-csp): see docs/deployment.md, "Content-Security-Policy" -----
# Everything comes from the site itself: no inline script or style, no plug-ins, no framing, and
# forms post only here. Images may also be data: URIs (the two-factor QR code, the API docs'
# icons) and blob: URLs (previews of the files chosen on the upload form); with S3, the image
# views redirect to signed URLs on the storage's host, which img-src must then allow.
_csp_image_sources = ["'self'", "data:", "blob:"]
if USE_S3:
    _s3_endpoint = _default_storage["OPTIONS"]["endpoint_url"]
    _csp_image_sources.append(
        "/".join(_s3_endpoint.split("/")[:3]) if _s3_endpoint else "https://*.amazonaws.com"
    )
_csp_image_sources += env.list("CSP_EXTRA_IMG_SRC", default=[])
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": _csp_image_sources,
        "object-src": ["'none'"],
        "frame-ancestors": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
    }
}
# The API docs (SpectacularSwaggerSplitView, its page's inline style moved to a static file):
# Swagger UI would otherwise send the schema's address to validator.swagger.io for a badge.
SPECTACULAR_SETTINGS["SWAGGER_UI_SETTINGS"] = {
    **SPECTACULAR_SETTINGS.get("SWAGGER_UI_SETTINGS", {"deepLinking": True}),
    "validatorUrl": None,
}


# --- Logging of refused requests (issue 8): one line per 403/404, no traceback ---------------
# Django logs a refusal (PermissionDenied, Http404, a bad request) with the exception's
# traceback attached, and with DEBUG its own "django" console handler printed it a second time
# besides the root's. A refusal is the expected answer to a client, not a fault of the server:
# it is logged as one line; 5xx answers keep their traceback. Django's "django" logger gets no
# handler of its own, so every record is printed once, by the root's.
def _refusal_without_traceback(record) -> bool:
    if getattr(record, "status_code", 500) < 500:
        record.exc_info = None
        record.exc_text = None
    return True


LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "refusal_without_traceback": {
            "()": "django.utils.log.CallbackFilter",
            "callback": _refusal_without_traceback,
        }
    },
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "plain",
            "filters": ["refusal_without_traceback"],
        }
    },
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        "django": {"handlers": [], "level": "INFO", "propagate": True},
        "django.request": {"filters": ["refusal_without_traceback"]},
        "django.security": {"filters": ["refusal_without_traceback"]},
    },
}


# --- Sign-in limits (django-axes): see docs/deployment.md, "Sign-in limits and trusted proxies" --
# Two counts of failed sign-ins, each locking on its own for LOGIN_COOLOFF_MINUTES once it reaches
# LOGIN_FAILURE_LIMIT: one per account (the email typed, case-folded, whatever the field is called)
# and one per client address, shared by the allauth login page, POST /api/auth/token/ and the
# admin login. They live in Django's cache (Redis when REDIS_URL is set, so every process sees the
# same counts; locmem, one process's memory, only in the demo). imagebank.lockout holds the
# callables and the handler; the client address comes from imagebank.client_address, which trusts
# X-Forwarded-For only as far as TRUSTED_PROXY_COUNT proxies of the bank's own wrote it.
def _whole_number(name: str, default: int, minimum: int) -> int:
    from django.core.exceptions import ImproperlyConfigured

    raw = env.str(name, default=str(default)).strip()
    if not (raw.isascii() and raw.isdigit()) or int(raw) < minimum:
        raise ImproperlyConfigured(f"{name} must be a whole number of at least {minimum}: {raw!r}")
    return int(raw)


TRUSTED_PROXY_COUNT = _whole_number("TRUSTED_PROXY_COUNT", default=0, minimum=0)
LOGIN_FAILURE_LIMIT = _whole_number("LOGIN_FAILURE_LIMIT", default=10, minimum=1)
LOGIN_COOLOFF_MINUTES = _whole_number("LOGIN_COOLOFF_MINUTES", default=15, minimum=1)
INSTALLED_APPS += ["axes"]
MIDDLEWARE += ["axes.middleware.AxesMiddleware"]  # turns a flagged refusal into the lockout answer
AUTHENTICATION_BACKENDS.insert(0, "axes.backends.AxesStandaloneBackend")  # refuses while locked
AXES_HANDLER = "imagebank.lockout.LockoutCacheHandler"  # axes' cache handler + notice and logging
AXES_CACHE = "default"
AXES_FAILURE_LIMIT = LOGIN_FAILURE_LIMIT
AXES_COOLOFF_TIME = "imagebank.lockout.cool_off"  # LOGIN_COOLOFF_MINUTES as a timedelta
AXES_LOCKOUT_PARAMETERS = "imagebank.lockout.lockout_parameters"  # ["username", "ip_address"]
AXES_USERNAME_CALLABLE = "imagebank.lockout.account_from"  # login / email / username, case-folded
AXES_CLIENT_IP_CALLABLE = "imagebank.client_address.client_ip"
AXES_LOCKOUT_CALLABLE = "imagebank.lockout.lockout_response"  # page, or JSON under /api/
AXES_HTTP_RESPONSE_CODE = 429
AXES_ENABLE_ADMIN = False  # the admin pages list database records, and the counts are in the cache
# Attempts refused while locked are not counted: they neither extend the pause nor, when only the
# address is locked, add to the count of the account a colleague behind the same address types.
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
# A completed sign-in resets the account's count (LockoutCacheHandler.user_logged_in), not the
# address's, which axes' AXES_RESET_ON_SUCCESS would clear too.
AXES_RESET_ON_SUCCESS = False
# allauth's own rate limits stay at its defaults (sign-ins per minute per address, sign-ups,
# password resets …) but for "login_failed", which allauth checks before a password reaches
# authenticate() and also per user for second-factor codes (which axes does not see). Its former
# 5/5m per email would refuse at the sign-in page before axes counts (and then the page would stop
# adding to the shared counts, and answer allauth's message instead of the lockout). Per key only
# (axes counts per address), over the cool-off, twice the limit: allauth sees only the page and
# also counts the attempts axes refuses, so axes answers first; second-factor codes stay limited.
ACCOUNT_RATE_LIMITS = {"login_failed": f"{2 * LOGIN_FAILURE_LIMIT}/{LOGIN_COOLOFF_MINUTES}m/key"}
# The same client address for DRF's throttles and allauth's remaining rate limits. (allauth refuses
# with an error a request whose X-Forwarded-For is shorter than the count: one that bypassed the
# outer proxies.)
REST_FRAMEWORK["NUM_PROXIES"] = TRUSTED_PROXY_COUNT
ALLAUTH_TRUSTED_PROXY_COUNT = TRUSTED_PROXY_COUNT
# --- end of sign-in limits ---


# --- Health checks (imagebank.views.health; docs/deployment.md, "Health checks and the
# operations page") ----------------------------------------------------------------------------
# /health/ and /ready/ answer probes over plain HTTP inside the stack (compose, a load balancer
# talking to the container): the SSL redirect lets them through. Patterns match the path
# without its leading slash.
SECURE_REDIRECT_EXEMPT = [r"^health/$", r"^ready/$"]
# --- end of health checks ---
