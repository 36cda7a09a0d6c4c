from django.apps import AppConfig


class FamilyConfig(AppConfig):
    name = "family"
    default_auto_field = "django.db.models.BigAutoField"
