REST_FRAMEWORK = {
    "DEFAULT_SCHEMA_CLASS": "common.schema.AutoSchema",
    "EXCEPTION_HANDLER": "common.errors.api_exception_handler",
    "DEFAULT_AUTHENTICATION_CLASSES": ["accounts.authentication.BearerAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["accounts.authentication.IsAppUser"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "UNAUTHENTICATED_USER": None,
    "URL_FORMAT_OVERRIDE": None,  # ?format= is ours (image format), not content negotiation
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Yibao Wallet API",
    "DESCRIPTION": "医保电子凭证钱包：参保人、客服与定点医药机构接口。Errors share one shape: "
    '{"code": "...", "message": "中文说明", "detail": {...}}.',
    "VERSION": "0.1.0",
    "SERVE_INCLUDE_SCHEMA": False,
}
