from django.apps import AppConfig


class CorePlatformConfig(AppConfig):
    name = "core_platform"
    default_auto_field = "django.db.models.BigAutoField"
