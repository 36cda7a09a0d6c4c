"""Serializer fields shared by the apps' ``OutputSerializer``s."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from .money import fen_to_yuan

YUAN_PATTERN = r"^-?[0-9]+\.[0-9]{2}$"


@extend_schema_field({"type": "string", "pattern": YUAN_PATTERN, "example": "12.50"})
class YuanField(serializers.Field):
    """An amount kept in integer fen, rendered as a yuan decimal string with
    two decimals (``1250`` → ``"12.50"``): the app API never sends a binary
    float. Output only."""

    def __init__(self, **kwargs):
        kwargs["read_only"] = True
        super().__init__(**kwargs)

    def to_representation(self, value):
        return fen_to_yuan(value)
