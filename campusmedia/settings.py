"""Settings, read from the environment.

The embedded default (no environment at all) is a single machine: SQLite in ``var/``, files in
``var/``, e-mail on the console, keys generated once into ``var/keys/`` (outside the database).
``CAMPUSMEDIA_ENV=production`` switches to the strict profile: every secret must come from the
environment and cookies are secure.
"""

from __future__ import annotations

import os
import secrets
from datetime import timedelta
from pathlib import Path

import dj_database_url

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("CAMPUSMEDIA_VAR_DIR", BASE_DIR / "var"))

PRODUCTION = os.environ.get("CAMPUSMEDIA_ENV", "development") == "production"


def _env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


def _secret(name: str) -> str:
    """A secret from the environment, or in development one generated once into var/keys/."""
    value = os.environ.get(name)
    if value:
        return value
    if PRODUCTION:
        raise RuntimeError(f"{name} must be set in production")
    path = VAR_DIR / "keys" / name.lower()
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(48))
        path.chmod(0o600)
    return path.read_text().strip()


SECRET_KEY = _secret("DJANGO_SECRET_KEY")
DEBUG = os.environ.get("DJANGO_DEBUG", "0" if PRODUCTION else "1") == "1"
ALLOWED_HOSTS = _env_list("DJANGO_ALLOWED_HOSTS", "" if PRODUCTION else "127.0.0.1,localhost")
CSRF_TRUSTED_ORIGINS = _env_list("DJANGO_CSRF_TRUSTED_ORIGINS")

# Personal data at rest: the first key encrypts, all keys decrypt (rotation). HMAC key for
# uniqueness lookups of ID numbers. Both live outside the database.
FIELD_ENCRYPTION_KEYS = _env_list("CAMPUSMEDIA_FIELD_KEYS") or [_secret("CAMPUSMEDIA_FIELD_KEY")]
FIELD_HMAC_KEY = _secret("CAMPUSMEDIA_HMAC_KEY")
# Backups (manage.py backup / restore) are encrypted and authenticated with this key. Only those
# two commands need it, so in production it is required by them, not by every web node; in
# development it is generated once into var/keys/ like the keys above.
CAMPUSMEDIA_BACKUP_KEY = (
    os.environ.get("CAMPUSMEDIA_BACKUP_KEY", "")
    if PRODUCTION
    else _secret("CAMPUSMEDIA_BACKUP_KEY")
)
CAMPUSMEDIA_BACKUP_DIR = Path(os.environ.get("CAMPUSMEDIA_BACKUP_DIR", VAR_DIR / "backups"))

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "guardian",
    "axes",
    "django_htmx",
    "django_tasks",
    "django_tasks_db",
    "import_export",
    "django_cas_ng",
    "campusmedia",
    "approvals",
    "annual_review",
    "alliance",
    "filing",
    "publication",
    "stats",
    "census",
    "exports",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "campusmedia.middleware.LanguageMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "campusmedia.middleware.SessionTimeoutMiddleware",
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "campusmedia.middleware.PasswordChangeRequiredMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "campusmedia.urls"
WSGI_APPLICATION = "campusmedia.wsgi.application"
AUTH_USER_MODEL = "campusmedia.User"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

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
                "django.template.context_processors.i18n",
                "campusmedia.context_processors.navigation",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.config(
        default=f"sqlite:///{VAR_DIR / 'db.sqlite3'}",
        conn_max_age=int(os.environ.get("DJANGO_CONN_MAX_AGE", "0")),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Wait for a competing writer instead of failing at once.
    DATABASES["default"].setdefault("OPTIONS", {})["timeout"] = 20
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]

AUTH_PASSWORD_VALIDATORS = [
    {
        "NAME": "campusmedia.passwords.MinimumLengthValidator",
        "OPTIONS": {"min_length": 8},
    },
    {"NAME": "campusmedia.passwords.CharacterClassValidator", "OPTIONS": {"min_classes": 3}},
    {"NAME": "campusmedia.passwords.UsernameNotContainedValidator"},
    {"NAME": "campusmedia.passwords.PasswordHistoryValidator", "OPTIONS": {"history": 5}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
# Days before a password must be changed again (SECURITY.md: 90).
CAMPUSMEDIA_PASSWORD_MAX_AGE_DAYS = int(os.environ.get("CAMPUSMEDIA_PASSWORD_MAX_AGE_DAYS", "90"))

# Sessions: 12 hours absolute, 30 minutes idle (campusmedia.middleware).
SESSION_COOKIE_AGE = int(os.environ.get("CAMPUSMEDIA_SESSION_ABSOLUTE_SECONDS", str(12 * 3600)))
CAMPUSMEDIA_SESSION_IDLE_SECONDS = int(
    os.environ.get("CAMPUSMEDIA_SESSION_IDLE_SECONDS", str(30 * 60))
)
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = PRODUCTION
CSRF_COOKIE_SECURE = PRODUCTION
X_FRAME_OPTIONS = "DENY"
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
if PRODUCTION:
    if not ALLOWED_HOSTS:
        raise RuntimeError("DJANGO_ALLOWED_HOSTS must be set in production")
    # TLS ends at the reverse proxy. Whether a request came over HTTPS is decided by gunicorn
    # (gunicorn.conf.py): it believes X-Forwarded-Proto only from the addresses in
    # FORWARDED_ALLOW_IPS and sets the WSGI scheme, which Django reads. SECURE_PROXY_SSL_HEADER
    # stays unset on purpose: Django would believe the header from any client that reaches a
    # node directly.
    SECURE_SSL_REDIRECT = os.environ.get("DJANGO_SECURE_SSL_REDIRECT", "1") == "1"
    # The load balancer probes each node over plain HTTP.
    SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
    SECURE_HSTS_SECONDS = int(os.environ.get("DJANGO_HSTS_SECONDS", "31536000"))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True

# Number of reverse proxies in front of the site whose X-Forwarded-For entries are trusted.
# 0 (the default) means REMOTE_ADDR is the client: a forged header changes nothing.
CAMPUSMEDIA_TRUSTED_PROXY_COUNT = int(os.environ.get("CAMPUSMEDIA_TRUSTED_PROXY_COUNT", "0"))

# django-axes: 5 consecutive failures lock the username for 30 minutes, whatever the address.
AXES_FAILURE_LIMIT = 5
AXES_COOLOFF_TIME = timedelta(minutes=30)
AXES_LOCKOUT_PARAMETERS = ["username"]
AXES_RESET_ON_SUCCESS = True
AXES_CLIENT_IP_CALLABLE = "campusmedia.net.client_ip"
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_VERBOSE = False

# django-guardian: no anonymous user row; anonymous visitors never get object permissions.
ANONYMOUS_USER_NAME = None
GUARDIAN_MONKEY_PATCH_USER = False

# Single sign-on through the campus CAS (统一身份认证; campusmedia/cas.py). Off unless the server
# is set; then the login page offers it beside the local form. A CAS login never creates a user:
# the staff number (the CAS username, or the attribute named here) must be a registered person's,
# with an active login. The backend and the middleware are always listed and do nothing while
# CAS_SERVER_URL is empty, so switching CAS on or off needs no other change.
CAS_SERVER_URL = os.environ.get("CAMPUSMEDIA_CAS_SERVER_URL", "").strip() or None
if CAS_SERVER_URL and not CAS_SERVER_URL.endswith("/"):
    CAS_SERVER_URL += "/"  # python-cas joins "login", "p3/serviceValidate", "logout" onto it
CAS_VERSION = os.environ.get("CAMPUSMEDIA_CAS_VERSION", "3")
if CAS_VERSION not in ("2", "3"):  # the protocols the tests speak (tests/campusmedia/test_cas.py)
    raise RuntimeError(f"CAMPUSMEDIA_CAS_VERSION must be 2 or 3, not {CAS_VERSION!r}")
CAMPUSMEDIA_CAS_STAFF_ATTRIBUTE = os.environ.get("CAMPUSMEDIA_CAS_STAFF_ATTRIBUTE", "").strip()
# Seconds to wait for the CAS server's answer when validating a ticket.
CAMPUSMEDIA_CAS_TIMEOUT = int(os.environ.get("CAMPUSMEDIA_CAS_TIMEOUT", "10"))
CAS_CREATE_USER = False
CAS_ADMIN_REDIRECT = False
CAS_IGNORE_REFERER = True
CAS_REDIRECT_URL = LOGIN_REDIRECT_URL
CAS_LOGIN_URL_NAME = "cas_login"
CAS_LOGOUT_URL_NAME = "cas_logout"
CAS_LOGIN_MSG = None
CAS_LOGGED_MSG = None
AUTHENTICATION_BACKENDS.append("campusmedia.cas.CASBackend")
MIDDLEWARE.append("campusmedia.cas.CASLogoutMiddleware")

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "campusmedia" / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
# Outside production, serve static files straight from the apps (no collectstatic needed).
WHITENOISE_USE_FINDERS = not PRODUCTION
if not PRODUCTION:
    STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # whitenoise warns about a missing root
MEDIA_ROOT = VAR_DIR / "media"
# Private files (scans, certificates) never sit under a public root; served by checked views.
CAMPUSMEDIA_PRIVATE_ROOT = Path(os.environ.get("CAMPUSMEDIA_PRIVATE_ROOT", VAR_DIR / "private"))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if PRODUCTION
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}

EMAIL_BACKEND = os.environ.get(
    "DJANGO_EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend"
)
# Links in e-mails point here (the address users reach the site at).
CAMPUSMEDIA_SITE_URL = os.environ.get("CAMPUSMEDIA_SITE_URL", "http://127.0.0.1:8000")
DEFAULT_FROM_EMAIL = os.environ.get("DJANGO_DEFAULT_FROM_EMAIL", "campusmedia@localhost")

# Registry list page size (pages and API).
CAMPUSMEDIA_PAGE_SIZE = 50

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "campusmedia.api.authentication.ExpiringTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "campusmedia.api.pagination.CountPagination",
    "PAGE_SIZE": CAMPUSMEDIA_PAGE_SIZE,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "UNAUTHENTICATED_USER": None,
}
# API tokens expire like sessions do.
CAMPUSMEDIA_API_TOKEN_SECONDS = int(os.environ.get("CAMPUSMEDIA_API_TOKEN_SECONDS", "43200"))
SPECTACULAR_SETTINGS = {
    "TITLE": "campusmedia API",
    "DESCRIPTION": "校园新媒体管理系统接口",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    # Vocabularies that several fields share get one name each (otherwise the schema names them
    # after the fields and `check --deploy` warns about the collisions).
    "ENUM_NAME_OVERRIDES": {
        "RequestKindEnum": "approvals.choices.RequestKind",
        "RequestStateEnum": "approvals.choices.RequestState",
        "BatchStateEnum": "filing.choices.BatchState",
    },
}

# Student administrators: remind the unit this many days before the expected end.
CAMPUSMEDIA_GRADUATION_NOTICE_DAYS = int(os.environ.get("CAMPUSMEDIA_GRADUATION_NOTICE_DAYS", "60"))

# Requests (approvals): approval numbers are <prefix>-<year>-<NNNN>, counted per year.
CAMPUSMEDIA_APPROVAL_PREFIX = os.environ.get("CAMPUSMEDIA_APPROVAL_PREFIX", "XCB")
# The 3-day rule (DOMAIN.md section 5): a team change is filed within this many days.
CAMPUSMEDIA_TEAM_CHANGE_DAYS = int(os.environ.get("CAMPUSMEDIA_TEAM_CHANGE_DAYS", "3"))
# Uploads (SECURITY.md, Files): PDF, JPEG and PNG only, at most this many bytes.
CAMPUSMEDIA_UPLOAD_MAX_BYTES = int(os.environ.get("CAMPUSMEDIA_UPLOAD_MAX_BYTES", str(5 << 20)))
# PDF renders stop after this many pages.
CAMPUSMEDIA_PDF_MAX_PAGES = int(os.environ.get("CAMPUSMEDIA_PDF_MAX_PAGES", "20"))
# Annual review (DOMAIN.md 6): days the unit has to file the close request after the department
# orders an account closed, and days before a campaign's due date that reminders start.
CAMPUSMEDIA_CLOSE_ORDER_DAYS = int(os.environ.get("CAMPUSMEDIA_CLOSE_ORDER_DAYS", "15"))
CAMPUSMEDIA_REVIEW_REMIND_DAYS = int(os.environ.get("CAMPUSMEDIA_REVIEW_REMIND_DAYS", "7"))

# Background work (Django's tasks API through the django-tasks backport). By default a task runs
# at once inside the request that enqueues it; production sets CAMPUSMEDIA_TASKS_BACKEND=database
# and runs `manage.py db_worker` beside the web nodes.
TASKS = {
    "default": {
        "BACKEND": (
            "django_tasks_db.DatabaseBackend"
            if os.environ.get("CAMPUSMEDIA_TASKS_BACKEND") == "database"
            else "django_tasks.backends.immediate.ImmediateBackend"
        ),
    }
}

# Municipal filing (DOMAIN.md 5 and 7): the city whose forms the school files on (a module of
# filing/cities/), the days the rules give for filing an opening, change or closure, and the
# processes that render a batch's forms (both cores by default).
CAMPUSMEDIA_FILING_CITY = os.environ.get("CAMPUSMEDIA_FILING_CITY", "binzhou")
CAMPUSMEDIA_FILING_DAYS = int(os.environ.get("CAMPUSMEDIA_FILING_DAYS", "30"))
CAMPUSMEDIA_FILING_REMIND_DAYS = int(os.environ.get("CAMPUSMEDIA_FILING_REMIND_DAYS", "7"))
CAMPUSMEDIA_PDF_WORKERS = int(os.environ.get("CAMPUSMEDIA_PDF_WORKERS", str(os.cpu_count() or 1)))

# The public verification page and API: requests per minute from one address.
CAMPUSMEDIA_VERIFY_RATE_PER_MINUTE = int(os.environ.get("CAMPUSMEDIA_VERIFY_RATE_PER_MINUTE", "30"))

# The New Media Alliance: a notice's unread recipients are reminded at most once in this many
# hours (a double click sends one reminder), and a task's pending members are reminded daily from
# this many days before its deadline.
CAMPUSMEDIA_NOTICE_REMIND_HOURS = int(os.environ.get("CAMPUSMEDIA_NOTICE_REMIND_HOURS", "12"))
CAMPUSMEDIA_TASK_REMIND_DAYS = int(os.environ.get("CAMPUSMEDIA_TASK_REMIND_DAYS", "1"))

# The census import (SECURITY.md, Imports): a file's size and data rows are capped while it is
# read, an xlsx's declared unpacked size before it is opened; files over either background
# threshold are checked and imported by a background task with a progress bar.
CAMPUSMEDIA_IMPORT_MAX_BYTES = int(os.environ.get("CAMPUSMEDIA_IMPORT_MAX_BYTES", str(20 << 20)))
CAMPUSMEDIA_IMPORT_MAX_ROWS = int(os.environ.get("CAMPUSMEDIA_IMPORT_MAX_ROWS", "200000"))
CAMPUSMEDIA_IMPORT_MAX_UNPACKED_BYTES = int(
    os.environ.get("CAMPUSMEDIA_IMPORT_MAX_UNPACKED_BYTES", str(400 << 20))
)
CAMPUSMEDIA_IMPORT_BACKGROUND_ROWS = int(
    os.environ.get("CAMPUSMEDIA_IMPORT_BACKGROUND_ROWS", "2000")
)
CAMPUSMEDIA_IMPORT_BACKGROUND_BYTES = int(
    os.environ.get("CAMPUSMEDIA_IMPORT_BACKGROUND_BYTES", str(1 << 20))
)
# A file of at least CAMPUSMEDIA_IMPORT_PARALLEL_ROWS rows (the upload's estimate) is checked
# by this many forked processes while the job's own process reads the sheet (1: all in one).
CAMPUSMEDIA_IMPORT_WORKERS = int(
    os.environ.get("CAMPUSMEDIA_IMPORT_WORKERS", str(min(4, os.cpu_count() or 1)))
)
CAMPUSMEDIA_IMPORT_PARALLEL_ROWS = int(os.environ.get("CAMPUSMEDIA_IMPORT_PARALLEL_ROWS", "20000"))

# Audit rows are kept at least this many days (Cybersecurity Law art. 21: 180 at least; a system
# check refuses less). The application never deletes audit rows; this states the policy.
CAMPUSMEDIA_AUDIT_RETENTION_DAYS = int(os.environ.get("CAMPUSMEDIA_AUDIT_RETENTION_DAYS", "180"))

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("DJANGO_LOG_LEVEL", "WARNING")},
}

SILENCED_SYSTEM_CHECKS = [
    # Lockout is by username (SECURITY.md): on a campus many people share one NAT address, and
    # locking an address would lock a whole building out because of one mistyped password.
    "axes.W006",
    # Object permissions are read by campusmedia.permissions through the users' current role
    # assignments, not through user.has_perm(), so guardian's backend is not needed.
    "guardian.W001",
]
