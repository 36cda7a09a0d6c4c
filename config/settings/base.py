from pathlib import Path

from .env import BASE_DIR, env_bool, env_choice, env_list, env_str

# "development" (embedded defaults, one command on a fresh machine) or
# "production" (every secret and server must be given; check --deploy passes).
YIBAO_ENV = env_choice("YIBAO_ENV", "development", {"development", "production", "test"})
PRODUCTION = YIBAO_ENV == "production"

# Which service this process is: the wallet (default) or the settlement core
# reference service running as its own process.
YIBAO_SERVICE = env_choice("YIBAO_SERVICE", "wallet", {"wallet", "core"})

DEBUG = env_bool("DEBUG", False)

# Local state of a development run (SQLite files, Redis dump, beat schedule,
# demo-personas.txt); YIBAO_VAR_DIR moves it (tests of `make run` use a temp dir).
VAR_DIR = Path(env_str("YIBAO_VAR_DIR", str(BASE_DIR / "var")))

if PRODUCTION:
    SECRET_KEY = env_str("SECRET_KEY")
else:
    SECRET_KEY = env_str("SECRET_KEY", "dev-insecure-" + "k" * 50)

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", [] if PRODUCTION else ["*"])

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "channels",
    "common",
    "accounts",
    "wallet",  # voucher, channel authorizations, activation, PIN, balance, push
    "codes",  # the rotating code: format, issue, rendering, the code page
    "terminal",  # the national envelope gateway, sign-in, decode, ecTokens
    "payments",  # the journal of brokered settlements, confirmation, resolve, reversal
    "family",
    "referrals",
    "staff",  # support-staff console backend (issue #15)
    "django_otp",
    "django_otp.plugins.otp_totp",
    "settlement",
    "core_platform",
]
if not PRODUCTION:
    INSTALLED_APPS.append("demo")  # demo data, demo institutions, the demo API: never in production

MIDDLEWARE = [
    "common.middleware.RequestGuardMiddleware",  # first: refuse oversize bodies and NUL in URLs before anything reads them
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",  # request.user.is_verified(): the staff API's second factor
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "config.urls_core" if YIBAO_SERVICE == "core" else "config.urls"
ASGI_APPLICATION = "config.asgi.application"
WSGI_APPLICATION = "config.wsgi.application"

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
            ],
        },
    },
]

LANGUAGE_CODE = "zh-hans"
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "staticfiles"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# The built H5 app (frontend/dist/build/h5) is served by Django at /app/.
FRONTEND_H5_DIR = BASE_DIR / "frontend" / "dist" / "build" / "h5"
