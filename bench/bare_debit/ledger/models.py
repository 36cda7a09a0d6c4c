"""Two tables, created by ``migrate --run-syncdb`` (no migration files)."""

from django.db import models
from django.db.models import Q


class Account(models.Model):
    balance_fen = models.BigIntegerField(default=0)

    class Meta:
        db_table = "bare_account"
        constraints = [models.CheckConstraint(condition=Q(balance_fen__gte=0), name="bare_account_not_negative")]


class Entry(models.Model):
    account = models.ForeignKey(Account, on_delete=models.PROTECT)
    amount_fen = models.BigIntegerField()
    reference = models.CharField(max_length=64)
    created_at = models.DateTimeField()

    class Meta:
        db_table = "bare_entry"
