"""Reads of the terminal app."""

from __future__ import annotations

from terminal.models import Institution


def institution_count() -> int:
    """How many institutions the gateway knows."""
    return Institution.objects.count()
