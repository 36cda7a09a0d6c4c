"""Secrets and transport security. In production every secret must be set and
``manage.py check --deploy`` passes."""

import base64

from django.core.exceptions import ImproperlyConfigured

from .base import PRODUCTION
from .env import env_bool, env_int, env_list, env_str

# 32 bytes, urlsafe base64: AES-256-GCM for ID numbers and code secrets; a
# separate HMAC key derived from it makes ID numbers searchable by keyed hash.
_DEV_FIELD_KEY = base64.urlsafe_b64encode(b"dev-only-field-key-32-bytes-long").decode()
FIELD_ENCRYPTION_KEY = env_str("FIELD_ENCRYPTION_KEY") if PRODUCTION else env_str("FIELD_ENCRYPTION_KEY", _DEV_FIELD_KEY)
try:
    if len(base64.urlsafe_b64decode(FIELD_ENCRYPTION_KEY)) != 32:
        raise ValueError("must decode to 32 bytes")
except ValueError as exc:
    raise ImproperlyConfigured(f"FIELD_ENCRYPTION_KEY is not 32 bytes of urlsafe base64: {exc}") from exc

# The wallet signs its calls to the settlement core with this shared secret
# (the core checks it the same way the wallet checks institutions).
CORE_API_SECRET = env_str("CORE_API_SECRET") if PRODUCTION else env_str("CORE_API_SECRET", "dev-core-api-secret")
CORE_API_CLIENT_ID = env_str("CORE_API_CLIENT_ID", "yibao-wallet")

if PRODUCTION:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
SECURE_REFERRER_POLICY = "same-origin"
