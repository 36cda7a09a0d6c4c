from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        # function-level import: AppConfig.ready() runs once the app registry is loaded;
        # importing services (and through them models) at module level would run before it.
        from settlement.hooks import hooks, sweep_register

        from .selectors import person_id_for_psn_no
        from .services.activation import activation_expired_delete, liveness_session_expired_delete
        from .services.enrolment import person_registry_change_apply

        hooks.person_id_for = person_id_for_psn_no
        hooks.registry_change_apply = person_registry_change_apply
        sweep_register("liveness_sessions", liveness_session_expired_delete)
        sweep_register("activations", activation_expired_delete)
