"""Scanners for "is any ID number stored in clear?": every table of a
database (all columns, whatever their type) and every key and value of every
Redis database on a server. Celery messages in Redis carry their body base64
encoded, so those bodies are decoded and scanned too.

Each scanner returns findings as strings naming where the number was found
(``wallet:wallet_gatewaymessage.response id=3``, ``redis db1 key=money``).
"""

from __future__ import annotations

import base64
import json
import sqlite3
from collections.abc import Iterable
from urllib.parse import urlsplit, urlunsplit


def needles(id_numbers: Iterable[str]) -> dict[bytes, str]:
    """The forms an ID number can take in stored text: as is, with a
    lowercase ``x``, and with every character JSON-escaped (``\\u0034...``)."""
    found: dict[bytes, str] = {}
    for number in id_numbers:
        for form in {number, number.lower(), number.upper()}:
            found[form.encode()] = number
            found["".join(f"\\u{ord(c):04x}" for c in form).encode()] = number
            found["".join(f"\\u{ord(c):04X}" for c in form).encode()] = number
    return found


def _as_bytes(value) -> bytes | None:
    if value is None or isinstance(value, (int, float, bool)):
        return None
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value)
    if isinstance(value, str):
        return value.encode("utf-8", "surrogatepass")
    if isinstance(value, (dict, list)):  # psycopg hands jsonb back decoded
        return json.dumps(value, ensure_ascii=False).encode()
    return str(value).encode()


def _hits(blob: bytes, wanted: dict[bytes, str]) -> list[str]:
    return sorted({number for needle, number in wanted.items() if needle in blob})


def scan_rows(label: str, cursor, tables: list[str], wanted: dict[bytes, str], quote=lambda n: f'"{n}"') -> list[str]:
    findings = []
    for table in tables:
        cursor.execute(f"SELECT * FROM {quote(table)}")
        columns = [d[0] for d in cursor.description]
        pk = columns.index("id") if "id" in columns else None
        for row in cursor.fetchall():
            for column, value in zip(columns, row):
                blob = _as_bytes(value)
                if blob and (hits := _hits(blob, wanted)):
                    where = f" id={row[pk]}" if pk is not None else ""
                    findings.append(f"{label}:{table}.{column}{where} holds {', '.join(_mask(h) for h in hits)}")
    return findings


def scan_django_database(label: str, connection, wanted: dict[bytes, str]) -> list[str]:
    """Every table the connection's introspection lists (wallet DB)."""
    with connection.cursor() as cursor:
        tables = connection.introspection.table_names(cursor)
        return scan_rows(label, cursor, tables, wanted, quote=connection.ops.quote_name)


def scan_database_url(label: str, url: str, wanted: dict[bytes, str]) -> list[str]:
    """Every table of the database at ``url`` (the core's own database, which
    a separate process owns: opened directly, not through Django)."""
    if url.startswith("sqlite:///"):
        conn = sqlite3.connect(url[len("sqlite:///"):])
        try:
            cursor = conn.cursor()
            tables = [r[0] for r in cursor.execute("SELECT name FROM sqlite_master WHERE type='table'").fetchall()]
            return scan_rows(label, cursor, tables, wanted)
        finally:
            conn.close()
    import psycopg

    with psycopg.connect(url) as conn, conn.cursor() as cursor:
        cursor.execute("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")
        tables = [r[0] for r in cursor.fetchall()]
        return scan_rows(label, cursor, tables, wanted)


def _redis_values(client, key: bytes) -> list[bytes]:
    kind = client.type(key).decode()
    if kind == "string":
        return [client.get(key) or b""]
    if kind == "list":
        return list(client.lrange(key, 0, -1))
    if kind == "hash":
        return [b for pair in client.hgetall(key).items() for b in pair]
    if kind == "set":
        return list(client.smembers(key))
    if kind == "zset":
        return [m for m, _ in client.zrange(key, 0, -1, withscores=True)]
    if kind == "stream":
        return [b for _, fields in client.xrange(key) for pair in fields.items() for b in pair]
    return []


def _kombu_body(value: bytes) -> bytes:
    """A Celery message in the Redis broker: JSON with a base64 body."""
    try:
        message = json.loads(value)
        if isinstance(message, dict) and message.get("properties", {}).get("body_encoding") == "base64":
            return base64.b64decode(message["body"])
    except (ValueError, TypeError, AttributeError):
        pass
    return b""


def scan_redis(redis_url: str, wanted: dict[bytes, str], databases: int = 16) -> list[str]:
    import redis

    parts = urlsplit(redis_url)
    findings = []
    for db in range(databases):
        client = redis.Redis.from_url(urlunsplit((parts.scheme, parts.netloc, f"/{db}", parts.query, "")))
        try:
            for key in client.scan_iter(count=500):
                for value in [key, *_redis_values(client, key)]:
                    hits = _hits(value, wanted) or _hits(_kombu_body(value), wanted)
                    if hits:
                        findings.append(f"redis db{db} key={key.decode(errors='replace')} holds "
                                        + ", ".join(_mask(h) for h in hits))
                        break
        finally:
            client.close()
    return findings


def scan_text(label: str, blob: bytes, wanted: dict[bytes, str]) -> list[str]:
    """A log file, say: what its handlers wrote."""
    hits = _hits(blob, wanted)
    return [f"{label} holds {', '.join(_mask(h) for h in hits)}"] if hits else []


def _mask(number: str) -> str:
    return number[:3] + "*" * 11 + number[-4:]
