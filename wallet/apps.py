from django.apps import AppConfig


class WalletConfig(AppConfig):
    name = "wallet"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        # function-level import: AppConfig.ready() runs once the app registry is loaded;
        # importing services (and through them models) at module level would run before it.
        from settlement.hooks import hooks

        from wallet.services.credits import account_credit_push

        hooks.credit_notify = account_credit_push
