from django.apps import AppConfig


class CommonConfig(AppConfig):
    name = "common"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        # function-level import: AppConfig.ready() runs once the app registry is loaded; the
        # schema module registers the OpenAPI auth extension and imports DRF settings.
        from . import schema  # noqa: F401
