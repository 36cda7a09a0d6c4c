from django.apps import AppConfig


class CodesConfig(AppConfig):
    name = "codes"
    default_auto_field = "django.db.models.BigAutoField"
