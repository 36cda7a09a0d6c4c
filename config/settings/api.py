from django.core.exceptions import ImproperlyConfigured

from .env import env_int

# The largest request body any endpoint reads (REST, terminal envelopes, forms);
# larger ones get 413 REQUEST_TOO_LARGE (or an envelope refusal) from
# common.middleware.RequestGuardMiddleware. Django's default, stated.
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("DATA_UPLOAD_MAX_MEMORY_SIZE", 2_621_440)
if DATA_UPLOAD_MAX_MEMORY_SIZE <= 0:
    raise ImproperlyConfigured("DATA_UPLOAD_MAX_MEMORY_SIZE must be a positive number of bytes")

# Django's CSRF refusal as the one error shape rather than an HTML page.
CSRF_FAILURE_VIEW = "common.errors.csrf_failure"

REST_FRAMEWORK = {
    "DEFAULT_SCHEMA_CLASS": "common.schema.AutoSchema",
    "EXCEPTION_HANDLER": "common.errors.api_exception_handler",
    "DEFAULT_AUTHENTICATION_CLASSES": ["accounts.authentication.BearerAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["accounts.authentication.IsAppUser"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["common.parsers.StrictJSONParser"],  # strict JSON only; see the module
    "UNAUTHENTICATED_USER": None,
    "URL_FORMAT_OVERRIDE": None,  # ?format= is ours (image format), not content negotiation
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Yibao Wallet API",
    "DESCRIPTION": "医保电子凭证钱包：参保人、客服与定点医药机构接口。Errors share one shape: "
    '{"code": "...", "message": "中文说明", "detail": {...}}.',
    "VERSION": "0.1.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # One enum component per status set (three models have a "status").
    "ENUM_NAME_OVERRIDES": {
        "VoucherStatusEnum": "wallet.enums.VoucherStatus",
        "AuthorizationStatusEnum": "wallet.enums.AuthorizationStatus",
        "PaymentStatusEnum": "payments.enums.PaymentStatus",
        "FilingTypeEnum": "referrals.enums.FilingType",
        "FilingKindEnum": "referrals.enums.FilingKind",
        "FilingStatusEnum": "referrals.enums.FilingStatus",
        "CancelReasonEnum": "referrals.enums.CancelReason",
        "BindingStatusEnum": "family.enums.BindingStatus",
        "InvitationStateEnum": "family.enums.InvitationState",
        "StaffRoleEnum": "staff.enums.Role",
        "SecurityNoticeKindEnum": "wallet.apis.SECURITY_NOTICE_KINDS",
        "StaffLookupByEnum": "staff.enums.LookupBy",
        "StaffRequestKindEnum": "staff.enums.RequestKind",
        "StaffRequestStatusEnum": "staff.enums.RequestStatus",
        "StaffAlertKindEnum": "staff.enums.AlertKind",
        # The "next step" answers of activation and PIN reset: one-value enums named apart.
        "NextStepPinEnum": [("pin", "pin")],
        "NextStepLivenessEnum": [("liveness", "liveness")],
        "NextStepDoneEnum": [("done", "done")],
    },
}
