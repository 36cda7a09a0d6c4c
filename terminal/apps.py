from django.apps import AppConfig


class TerminalConfig(AppConfig):
    name = "terminal"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        # function-level import: AppConfig.ready() runs once the app registry is loaded;
        # importing services (and through them models) at module level would run before it.
        from settlement.hooks import sweep_register
        from wallet.hooks import hooks

        from terminal.services.ectokens import ectoken_expired_delete, ectokens_end

        sweep_register("ectokens", ectoken_expired_delete)
        hooks.ectokens_end = ectokens_end
