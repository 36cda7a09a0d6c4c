from django.apps import AppConfig


class FamilyConfig(AppConfig):
    name = "family"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        # function-level import: AppConfig.ready() runs once the app registry is loaded;
        # importing services (and through them models) at module level would run before it.
        from wallet.hooks import hooks

        from family.services.bindings import proxy_code_scanned, proxy_grant_get, proxy_grant_open, proxy_may_act

        hooks.proxy_grant_open = proxy_grant_open
        hooks.proxy_grant_get = proxy_grant_get
        hooks.proxy_code_scanned = proxy_code_scanned
        hooks.proxy_may_act = proxy_may_act

        from settlement.hooks import registry_change_listen

        from family.selectors import mulaid_notifications
        from family.services import bindings, mulaid

        hooks.mulaid_ticket = mulaid.mulaid_ticket
        hooks.mulaid_confirmation = mulaid.mulaid_confirmation
        hooks.mulaid_payer_pending = mulaid.mulaid_payer_pending
        hooks.mulaid_settled = mulaid.mulaid_settled
        hooks.mulaid_reversed = mulaid.mulaid_reversed
        hooks.mulaid_not_used = mulaid.mulaid_not_used
        hooks.notifications_extra = mulaid_notifications
        registry_change_listen(mulaid.mulaid_registry_changed)
        if mulaid.mulaid_binding_ended not in bindings.binding_end_listeners:
            bindings.binding_end_listeners.append(mulaid.mulaid_binding_ended)
