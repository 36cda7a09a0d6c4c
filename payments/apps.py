from django.apps import AppConfig


class PaymentsConfig(AppConfig):
    name = "payments"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        # function-level import: AppConfig.ready() runs once the app registry is loaded;
        # importing services (and through them models) at module level would run before it.
        from settlement.hooks import hooks as sync_hooks
        from terminal.services.gateway import gateway_handler_register
        from wallet.hooks import hooks

        from payments.services.counter import payment_pre_settle, payment_settle, payment_settle_open
        from payments.services.journal import payments_cancel_pending
        from payments.services.reversal import payment_reverse, payment_reverse_by_msgid
        from payments.services.settled import payments_settled

        gateway_handler_register("2101", payment_pre_settle)
        gateway_handler_register("2102", payment_settle, opener=payment_settle_open)
        gateway_handler_register("2103", payment_reverse)
        gateway_handler_register("2601", payment_reverse_by_msgid)
        sync_hooks.payments_settled = payments_settled
        hooks.payments_cancel_pending = payments_cancel_pending
