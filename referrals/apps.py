from django.apps import AppConfig


class ReferralsConfig(AppConfig):
    name = "referrals"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        # function-level import: AppConfig.ready() runs once the app registry is loaded;
        # the handlers import services (and through them models), which may not load earlier.
        from terminal.services.gateway import gateway_handler_register

        from .services.terminal import TERMINAL_HANDLERS

        for infno, handler in TERMINAL_HANDLERS.items():
            gateway_handler_register(infno, handler)
