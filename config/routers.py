"""Keeps core_platform's tables in the ``core`` database and everything else
out of it: the two services share a code base, never a database."""

CORE_APP = "core_platform"
CORE_DB = "core"


class CoreRouter:
    def db_for_read(self, model, **hints):
        return CORE_DB if model._meta.app_label == CORE_APP else "default"

    def db_for_write(self, model, **hints):
        return CORE_DB if model._meta.app_label == CORE_APP else "default"

    def allow_relation(self, obj1, obj2, **hints):
        return (obj1._meta.app_label == CORE_APP) == (obj2._meta.app_label == CORE_APP)

    def allow_migrate(self, db, app_label, model_name=None, **hints):
        if app_label == CORE_APP:
            return db == CORE_DB
        if db == CORE_DB:
            # The core keeps Django's contenttypes/auth tables out: it has no users.
            return False
        return True
