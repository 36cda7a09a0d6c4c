"""Loading per-region policy versions from a file (``core_load_policy``,
the demo seed).

A file is JSON: one policy object, a list of them, or ``{"policies":
[...]}``; each object is an entry ``{"region", "insutype", "version",
"effective_from": "YYYY-MM-DD", "params": {...}}``. This module checks the
entry's envelope (region, insutype, version, effective_from); ``params`` is
checked by the engine's validator (``core_platform.engine.params``, where its
schema is documented), the same one the engine parses with before it
computes, so a version the loader accepts is one the engine can use.

Versions are immutable: loading an existing version with identical content
is a no-op, with different content it is refused (publish a new version
instead). A refusal is ``InvalidInput`` (code ``INVALID_INPUT``), its Chinese
message naming every problem, ``detail["errors"]`` listing them.
"""

from __future__ import annotations

import datetime as dt

from common.fields import admdvs_valid, ascii_pattern, matches

from ..db import core_atomic
from ..engine.params import is_int, params_errors
from ..enums import Insutype
from ..errors import InvalidInput
from ..models import PolicyParameters, Region
from .audit import audit_record

_ENTRY_KEYS = {"region", "insutype", "version", "effective_from", "params"}
_DATE = ascii_pattern(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def _effective_from(value, errors: list[str]) -> dt.date | None:
    """A calendar date written exactly ``YYYY-MM-DD`` (not the other ISO 8601
    forms ``date.fromisoformat`` also takes, such as ``20260101`` or
    ``2026-W01-1``)."""
    if matches(_DATE, value):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            pass
    errors.append(f"effective_from 必须是 YYYY-MM-DD 日期，实为 {value!r}")
    return None


def policy_entry_parse(entry) -> dict:
    """Validate one file entry; returns it normalised or raises InvalidInput
    listing every problem (the envelope's here, the params' from the engine)."""
    if not isinstance(entry, dict):
        raise InvalidInput("每条政策参数必须是JSON对象")
    errors: list[str] = []
    missing = sorted(_ENTRY_KEYS - entry.keys())
    extra = sorted(map(str, entry.keys() - _ENTRY_KEYS))
    if missing:
        errors.append(f"缺少字段：{', '.join(missing)}")
    if extra:
        errors.append(f"含未知字段：{', '.join(extra)}")
    region = entry.get("region")
    if not admdvs_valid(region):
        errors.append(f"region 必须是6位行政区划代码，实为 {region!r}")
    if entry.get("insutype") not in Insutype.values:
        errors.append(f"insutype 必须是 310 或 390，实为 {entry.get('insutype')!r}")
    version = entry.get("version")
    if not is_int(version) or version < 1:
        errors.append(f"version 必须是正整数，实为 {version!r}")
    effective_from = _effective_from(entry.get("effective_from"), errors)
    if "params" in entry:
        # insutype lets the validator refuse a fund that does not belong to
        # it (hifob only for 310, hifmi only for 390); an unknown insutype is
        # already listed above.
        insutype = entry.get("insutype") if entry.get("insutype") in Insutype.values else None
        errors.extend(params_errors(entry["params"], insutype=insutype))
    if errors:
        label = f"{region}/{entry.get('insutype')}/v{version}"
        raise InvalidInput(f"政策参数 {label} 无效：" + "；".join(errors), {"errors": errors})
    return {"region": region, "insutype": entry["insutype"], "version": version,
            "effective_from": effective_from, "params": entry["params"]}


def policy_file_entries(data) -> list:
    if isinstance(data, dict) and "policies" in data:
        data = data["policies"]
    elif isinstance(data, dict):
        data = [data]
    if not isinstance(data, list) or not data:
        raise InvalidInput("政策参数文件必须是一个对象、对象数组或 {\"policies\": [...]}")
    return data


def policy_load(data) -> dict[str, int]:
    """Load policy versions (already-decoded JSON). All or nothing: every
    entry is validated first. Returns {"created": n, "unchanged": m}."""
    entries = [policy_entry_parse(e) for e in policy_file_entries(data)]
    known = set(Region.objects.filter(admdvs__in={e["region"] for e in entries}).values_list("admdvs", flat=True))
    unknown = sorted({e["region"] for e in entries} - known)
    if unknown:
        raise InvalidInput(f"参保地未登记：{', '.join(unknown)}（先登记统筹区）")
    counts = {"created": 0, "unchanged": 0}
    with core_atomic():
        for e in entries:
            current = PolicyParameters.objects.filter(
                region=e["region"], insutype=e["insutype"], version=e["version"]
            ).first()
            if current is not None:
                if current.params == e["params"] and current.effective_from == e["effective_from"]:
                    counts["unchanged"] += 1
                    continue
                raise InvalidInput(
                    f"政策参数 {e['region']}/{e['insutype']} 版本 {e['version']} 已存在且内容不同；请使用新的版本号"
                )
            PolicyParameters.objects.create(**e)
            audit_record("policy.load", f"{e['region']}-{e['insutype']}", {"version": e["version"]})
            counts["created"] += 1
    return counts

