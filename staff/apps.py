from django.apps import AppConfig
from django.db.models.signals import post_migrate


class StaffConfig(AppConfig):
    name = "staff"
    verbose_name = "客服与审计"

    def ready(self):
        # After migrate (never at import, never reading the database here): the role groups and their permissions.
        from .roles import roles_after_migrate

        post_migrate.connect(roles_after_migrate, sender=self)
