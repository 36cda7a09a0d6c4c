from django.apps import AppConfig


class DemoConfig(AppConfig):
    """Dev-only demo data, demo institutions and the demo API: not installed
    when YIBAO_ENV=production (config/settings/base.py)."""

    name = "demo"
    default_auto_field = "django.db.models.BigAutoField"
