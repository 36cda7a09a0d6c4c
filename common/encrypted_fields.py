"""Model fields whose whole value is encrypted at rest (common.crypto).

For journals and stored answers that may carry personal data (an ID number in
a 1101 answer, a ``certno`` in a settlement's ``setlinfo``): the column holds
``v1.<base64(nonce|ciphertext|tag)>``, Python code sees the plaintext. Reads
decrypt in ``from_db_value``; every write (``save``, ``create``,
``QuerySet.update``, ``bulk_create``) encrypts in ``get_prep_value``.

The ciphertext is randomised, so these columns cannot be filtered on (an
equality lookup never matches); keep a keyed hash beside the value when a
lookup is needed (``common.crypto.keyed_hash``). The empty string and NULL are
stored as they are: there is nothing in them to hide.

``encrypt_column`` / ``decrypt_column`` are the RunPython steps that turn an
existing clear column into an encrypted one (and back) with plain SQL, so a
migration does not depend on how the field reads.
"""

from __future__ import annotations

import json
from decimal import Decimal

import simplejson
from django.db import models

from . import crypto

PREFIX = "v1."


class EncryptedTextField(models.TextField):
    """Text, stored encrypted; reads give back exactly the text written."""

    def from_db_value(self, value, expression, connection):
        if value is None or value == "":
            return value
        return crypto.decrypt(value)

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        if value is None or value == "":
            return value
        return crypto.encrypt(value)


class EncryptedJSONField(EncryptedTextField):
    """A JSON value, stored as encrypted JSON text. Python sees dicts and lists
    as with ``JSONField`` (no JSON lookups, no key transforms)."""

    def from_db_value(self, value, expression, connection):
        text = super().from_db_value(value, expression, connection)
        if text is None:
            return None
        return json.loads(text)

    def get_prep_value(self, value):
        if value is None:
            return None
        return super().get_prep_value(json.dumps(value, ensure_ascii=False, separators=(",", ":")))

    def to_python(self, value):
        return value


class EncryptedExactJSONField(EncryptedJSONField):
    """As ``EncryptedJSONField``, with exact numbers: a ``Decimal`` is written
    as a JSON number from its exact text and read back as a ``Decimal`` (never
    a float). For stored envelope outputs whose amounts are numbers."""

    def from_db_value(self, value, expression, connection):
        text = EncryptedTextField.from_db_value(self, value, expression, connection)
        if text is None:
            return None
        return json.loads(text, parse_float=Decimal)

    def get_prep_value(self, value):
        if value is None:
            return None
        text = simplejson.dumps(value, use_decimal=True, ensure_ascii=False, separators=(",", ":"))
        return EncryptedTextField.get_prep_value(self, text)


def _rewrite(schema_editor, table: str, column: str, change) -> None:
    conn = schema_editor.connection
    qt, qc = conn.ops.quote_name(table), conn.ops.quote_name(column)
    with conn.cursor() as cursor:
        cursor.execute(f"SELECT id, {qc} FROM {qt} WHERE {qc} IS NOT NULL AND {qc} <> ''")
        rows = cursor.fetchall()
        for pk, value in rows:
            new = change(value)
            if new is not None:
                cursor.execute(f"UPDATE {qt} SET {qc} = %s WHERE id = %s", [new, pk])


def encrypt_column(table: str, column: str):
    """RunPython forwards: encrypt every clear value of ``table.column``."""
    def forwards(apps, schema_editor):
        _rewrite(schema_editor, table, column, lambda v: None if v.startswith(PREFIX) else crypto.encrypt(v))
    return forwards


def decrypt_column(table: str, column: str):
    """RunPython backwards: the clear values back (for a rollback)."""
    def backwards(apps, schema_editor):
        _rewrite(schema_editor, table, column, lambda v: crypto.decrypt(v) if v.startswith(PREFIX) else None)
    return backwards
