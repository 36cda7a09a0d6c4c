"""The core's database alias. config.routers sends core_platform's models
there; transactions must name it too (``transaction.atomic()`` alone would
open one on ``default``)."""

from django.db import transaction

CORE_DB = "core"


def core_atomic(savepoint: bool = True):
    return transaction.atomic(using=CORE_DB, savepoint=savepoint)
