from django.apps import AppConfig


class FamilyConfig(AppConfig):
    name = "family"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        # function-level import: AppConfig.ready() runs once the app registry is loaded;
        # importing services (and through them models) at module level would run before it.
        from wallet.hooks import hooks

        from .services.bindings import proxy_code_scanned, proxy_grant_get, proxy_grant_open, proxy_may_act

        hooks.proxy_grant_open = proxy_grant_open
        hooks.proxy_grant_get = proxy_grant_get
        hooks.proxy_code_scanned = proxy_code_scanned
        hooks.proxy_may_act = proxy_may_act
