"""Shared bits of the core's operator commands: service refusals become a
CommandError with the service's Chinese message (never a traceback)."""

from __future__ import annotations

from contextlib import contextmanager

from django.core.management.base import CommandError

from common.errors import ApplicationError


@contextmanager
def refusals_as_command_errors():
    try:
        yield
    except ApplicationError as exc:
        raise CommandError(f"{exc.code}: {exc.message}") from None
