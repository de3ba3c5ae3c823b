"""Production-safe settings: everything that varies comes from the environment.

`config.settings.dev` and `config.settings.test` import this module and relax what a
developer's machine or the test run needs. Production runs this module as it is
(DJANGO_SETTINGS_MODULE=config.settings.base).
"""

import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent.parent


def env(name: str, default: str | None = None) -> str:
    value = os.environ.get(name, default)
    if value is None:
        raise ImproperlyConfigured(f"La variable d'environnement {name} est obligatoire.")
    return value


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    return raw.strip().lower() in {"1", "true", "yes", "on", "oui"}


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in env(name, default).split(",") if item.strip()]


SECRET_KEY = env("SECRET_KEY")
DEBUG = env_bool("DEBUG", False)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", "")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django_htmx",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "axes",
    "csp",
    "lien.core",
    "lien.referentiel",
    "lien.territories",
    "lien.structures",
    "lien.logbook",
    "lien.indicators",
    "lien.followup",
    "lien.jobs",
    "lien.evaluation",
    "lien.steering",
    "lien.demo",
    "django_tasks",
    "django_tasks.backends.database",
    "lien.notifications",
    "lien.exchange",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "lien.core.middleware.CurrentMembershipMiddleware",
    "lien.core.middleware.PermissionsPolicyMiddleware",
    "lien.core.middleware.SecondFactorMiddleware",
    # Last, as django-axes asks: it turns lockouts into a clear page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "lien" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "lien.core.context_processors.navigation",
                "lien.notifications.context_processors.unread_notifications",
            ],
        },
    },
]

# --- Database -----------------------------------------------------------------------
# SQLite (WAL) is the embedded default; PostgreSQL is chosen with DATABASE_URL.
DATABASE_URL = env("DATABASE_URL", f"sqlite:///{BASE_DIR / 'db.sqlite3'}")
DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=60)}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["OPTIONS"] = {
        # IMMEDIATE takes the write lock at BEGIN, so two writers queue instead of
        # failing with "database is locked" halfway through a transaction.
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": (
            "PRAGMA journal_mode=WAL;"
            "PRAGMA synchronous=NORMAL;"
            "PRAGMA foreign_keys=ON;"
            "PRAGMA busy_timeout=20000;"
        ),
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Authentication -----------------------------------------------------------------
AUTH_USER_MODEL = "core.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "lien.core.auth.EmailBackend",
]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 12},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# Login throttling: five failures for one account from one address lock it for 30 min.
AXES_FAILURE_LIMIT = int(env("AXES_FAILURE_LIMIT", "5"))
AXES_COOLOFF_TIME = 0.5
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_USERNAME_FORM_FIELD = "username"
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_RESET_ON_SUCCESS = True
AXES_VERBOSE = False

# Fixed demo accounts (…@demo.lien.test) can log in only when this is on; it follows
# DEBUG unless set explicitly.
LIEN_DEMO_LOGINS_ENABLED = env_bool("LIEN_DEMO_LOGINS_ENABLED", DEBUG)

# Second factor (TOTP): required for these roles (comma-separated role codes), offered
# to everyone. Demo accounts are exempt so that `make demo` stays two commands; they
# cannot log in where demo logins are disabled (production).
LIEN_TWO_FACTOR_ROLES = tuple(
    code.strip()
    for code in env("LIEN_TWO_FACTOR_ROLES", "coordinator,steering,admin").split(",")
    if code.strip()
)
OTP_TOTP_ISSUER = "Lien"
# Invitation and password links expire after this many days (Django's token timeout).
LIEN_INVITATION_DAYS = int(env("LIEN_INVITATION_DAYS", "7"))
PASSWORD_RESET_TIMEOUT = LIEN_INVITATION_DAYS * 24 * 3600
DEMO_EMAIL_DOMAIN = "demo.lien.test"

# --- Sessions and security headers ---------------------------------------------------
SESSION_COOKIE_AGE = int(env("SESSION_COOKIE_AGE", str(8 * 3600)))
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_SECURE = env_bool("SECURE_COOKIES", not DEBUG)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
CSRF_COOKIE_HTTPONLY = True
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", not DEBUG)
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_HSTS_SECONDS = int(env("SECURE_HSTS_SECONDS", "0" if DEBUG else "31536000"))
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "manifest-src": ["'self'"],
        "worker-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    },
}
PERMISSIONS_POLICY = "camera=(self), geolocation=(self), microphone=(), payment=(), usb=()"

# --- E-mail ---------------------------------------------------------------------------
EMAIL_BACKEND = env("EMAIL_BACKEND", "django.core.mail.backends.smtp.EmailBackend")
EMAIL_HOST = env("EMAIL_HOST", "localhost")
EMAIL_PORT = int(env("EMAIL_PORT", "25"))
EMAIL_HOST_USER = env("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", "Lien <ne-pas-repondre@lien.invalid>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# --- Background jobs -------------------------------------------------------------------
# django-tasks with its database backend: the queue is a table in the same database
# (SQLite or PostgreSQL), so no extra server; `manage.py db_worker` runs the jobs.
TASKS = {"default": {"BACKEND": "django_tasks.backends.database.DatabaseBackend"}}

# --- Internationalisation -------------------------------------------------------------
LANGUAGE_CODE = "fr"
LANGUAGES = [("fr", "Français")]
TIME_ZONE = "Europe/Paris"
USE_I18N = True
USE_TZ = True
LOCALE_PATHS = [BASE_DIR / "lien" / "locale"]

# --- Static files -----------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = Path(env("STATIC_ROOT", str(BASE_DIR / "staticfiles")))
# The shared layout's files (vendored Pico CSS and htmx, Lien's own CSS) live outside apps.
STATICFILES_DIRS = [BASE_DIR / "lien" / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
MEDIA_ROOT = Path(env("MEDIA_ROOT", str(BASE_DIR / "media")))
# Full structure exports (ZIP archives with nominative data): a private folder, never
# served by the web server; see lien/exchange/exports.py.
LIEN_EXPORT_ROOT = Path(env("LIEN_EXPORT_ROOT", str(MEDIA_ROOT / "exports")))
# The published open data set (`manage.py export_open_data --publish`), served to anyone
# at /donnees-ouvertes/: aggregates only, protected by small-cell suppression.
LIEN_OPEN_DATA_ROOT = Path(env("LIEN_OPEN_DATA_ROOT", str(MEDIA_ROOT / "donnees-ouvertes")))

# --- Lien --------------------------------------------------------------------------------
# Counts below this are shown as "< N" outside the structure that owns the records.
LIEN_SMALL_CELL_THRESHOLD = int(env("LIEN_SMALL_CELL_THRESHOLD", "5"))
# Where `manage.py backup` writes when given no --output (see docs/deployment.md).
LIEN_BACKUP_DIR = Path(env("LIEN_BACKUP_DIR", str(BASE_DIR / "backups")))
# Absolute address of the site, for the links in e-mails (no request to build them from).
LIEN_BASE_URL = env("LIEN_BASE_URL", "http://127.0.0.1:8000").rstrip("/")
# How long a partner's signed answer link stays valid (a new link revokes the previous one).
LIEN_REFERRAL_LINK_DAYS = int(env("LIEN_REFERRAL_LINK_DAYS", "45"))
# Posts whose funding ends within this many months, with nothing after, are flagged.
LIEN_FUNDING_ALERT_MONTHS = int(env("LIEN_FUNDING_ALERT_MONTHS", "6"))
# Retention periods (days) that `manage.py apply_retention` applies (lien.core.retention,
# docs/deployment.md); closed situations follow Structure.situation_retention_months.
LIEN_RETENTION = {
    "notifications_read_days": int(env("LIEN_RETENTION_NOTIFICATIONS_READ_DAYS", "180")),
    "job_results_days": int(env("LIEN_RETENTION_JOB_RESULTS_DAYS", "30")),
    "login_attempts_days": int(env("LIEN_RETENTION_LOGIN_ATTEMPTS_DAYS", "180")),
    "report_photos_days": int(env("LIEN_RETENTION_REPORT_PHOTOS_DAYS", "365")),
    # exports: full structure archives (nominative data), deleted after a week.
    "structure_exports_days": int(env("LIEN_RETENTION_STRUCTURE_EXPORTS_DAYS", "7")),
    # imports: the uploaded files and their rejects (they may hold names typed in notes).
    "import_files_days": int(env("LIEN_RETENTION_IMPORT_FILES_DAYS", "30")),
}


LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", "INFO")},
}
