"""The drug, service and material catalogue (医保目录).

A row: ``med_list_codg`` (unique code), ``name``, ``kind`` (drug / service /
material), ``list_class`` (A / B / C, or 甲 / 乙 / 丙), ``self_pay_ratio_permille``
(B-class self-pay-first share; defaults to 0 for A and 1000 for C and must
match them; required for B), ``price_cap_fen`` (optional highest eligible unit
price), ``unit``, ``spec``, ``mulaid_excluded`` (optional: 1/0, true/false,
是/否 — never paid from a family member's account (家庭共济): health
products, fitness, wellness; default no).

A row with ``region`` (a 6-digit pooling region) is that treatment region's
own terms for an item of the catalogue (就医地目录): ``list_class``,
``self_pay_ratio_permille`` and ``price_cap_fen`` as above (``name`` and
``kind`` may be left empty; the item must be in the catalogue or in the same
file). A bill at an institution of that region uses them
(``reference().regional_terms``, core_platform/reference.py), a local or a
cross-province patient alike.

Files for ``core_load_catalogue``: CSV with that header row (UTF-8, BOM
allowed), or JSON — a list of row objects or ``{"items": [...]}``. Chosen by
the file extension (``.csv`` / ``.json``).
"""

from __future__ import annotations

import csv
import io
from decimal import Decimal

from common.fields import is_ascii_digits
from common.jsonbody import JsonBodyError, loads
from common.money import fen_to_amount

from ..db import core_atomic
from ..enums import CatalogueKind, ListClass
from ..errors import InvalidInput
from ..models import CatalogueItem, Region, RegionCatalogueItem
from .audit import audit_record

FIELDS = ("med_list_codg", "name", "kind", "list_class", "self_pay_ratio_permille", "price_cap_fen", "unit", "spec",
          "region", "mulaid_excluded")
REGION_FIELDS = ("list_class", "self_pay_ratio_permille", "price_cap_fen")
_CLASS_ALIASES = {"A": "A", "B": "B", "C": "C", "甲": "A", "乙": "B", "丙": "C", "01": "A", "02": "B", "03": "C"}


def _int_or_none(value, name: str, errors: list[str]) -> int | None:
    if value is None or (isinstance(value, str) and value.strip() == ""):
        return None
    if isinstance(value, bool) or isinstance(value, float):
        errors.append(f"{name} 必须是整数，实为 {value!r}")
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and is_ascii_digits(value, max_length=12):
        return int(value)
    errors.append(f"{name} 必须是整数（ASCII 数字），实为 {value!r}")
    return None


_FLAGS = {"1": True, "0": False, "true": True, "false": False, "是": True, "否": False, "": False}


def _flag(value, name: str, errors: list[str]) -> bool:
    """A yes/no column: true/false, 1/0, 是/否 or empty (no)."""
    if value is None or isinstance(value, bool):
        return bool(value)
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in _FLAGS:
        return _FLAGS[value.strip().lower()]
    errors.append(f"{name} 必须是 1/0、true/false 或 是/否，实为 {value!r}")
    return False


def catalogue_row_parse(row: dict) -> tuple[dict | None, list[str]]:
    """Validate one row; returns (clean row, []) or (None, errors). Pure."""
    if not isinstance(row, dict):
        return None, ["每一行必须是对象"]
    errors: list[str] = []
    unknown = sorted(set(row) - set(FIELDS))
    if unknown:
        errors.append(f"未知字段：{', '.join(unknown)}")
    code = str(row.get("med_list_codg") or "").strip()
    name = str(row.get("name") or "").strip()
    region = row.get("region") or ""
    if region and not is_ascii_digits(region, 6):
        errors.append(f"region 必须是6位数字统筹区代码（或留空表示全国目录），实为 {region!r}")
    if not code or len(code) > 50:
        errors.append("med_list_codg 不能为空且不超过50个字符")
    if (name or not region) and (not name or len(name) > 200):
        errors.append("name 不能为空且不超过200个字符")
    kind = str(row.get("kind") or "").strip()
    if (kind or not region) and kind not in CatalogueKind.values:
        errors.append(f"kind 必须是 drug/service/material，实为 {kind!r}")
    list_class = _CLASS_ALIASES.get(str(row.get("list_class") or "").strip())
    if list_class is None:
        errors.append(f"list_class 必须是 A/B/C（甲/乙/丙），实为 {row.get('list_class')!r}")
    ratio = _int_or_none(row.get("self_pay_ratio_permille"), "self_pay_ratio_permille", errors)
    if list_class == ListClass.A:
        ratio = 0 if ratio is None else ratio
        if ratio != 0:
            errors.append("甲类项目的先行自付比例必须为 0")
    elif list_class == ListClass.C:
        ratio = 1000 if ratio is None else ratio
        if ratio != 1000:
            errors.append("丙类项目的自付比例必须为 1000（全自费）")
    elif list_class == ListClass.B:
        if ratio is None or not 0 <= ratio <= 1000:
            errors.append("乙类项目必须给出 0-1000 之间的先行自付比例（千分比）")
    cap = _int_or_none(row.get("price_cap_fen"), "price_cap_fen", errors)
    if cap is not None and cap <= 0:
        errors.append("price_cap_fen 必须是正整数（分）")
    unit = str(row.get("unit") or "").strip()
    spec = str(row.get("spec") or "").strip()
    if len(unit) > 16 or len(spec) > 100:
        errors.append("unit 不超过16个字符，spec 不超过100个字符")
    excluded = _flag(row.get("mulaid_excluded"), "mulaid_excluded", errors)
    if errors:
        return None, errors
    if region:
        return {"region": region, "med_list_codg": code, "list_class": list_class, "self_pay_ratio_permille": ratio,
                "price_cap_fen": cap}, []
    return {"med_list_codg": code, "name": name, "kind": kind, "list_class": list_class,
            "self_pay_ratio_permille": ratio, "price_cap_fen": cap, "unit": unit, "spec": spec,
            "mulaid_excluded": excluded}, []


def catalogue_file_rows(content: str, fmt: str) -> list[dict]:
    """Decode a catalogue file's text (``fmt``: 'csv' or 'json') into rows."""
    if fmt == "csv":
        reader = csv.DictReader(io.StringIO(content.lstrip("\ufeff")))
        missing = [f for f in ("med_list_codg", "name", "kind", "list_class") if f not in (reader.fieldnames or [])]
        if missing:
            raise InvalidInput(f"CSV 缺少列：{', '.join(missing)}")
        return [dict(r) for r in reader]
    if fmt == "json":
        try:
            # The strict reader: a key given twice (plain json.loads keeps the last silently), NaN,
            # lone surrogates are refused; a number with a fraction is an exact Decimal, which the
            # row check refuses where an integer (fen, permille) is meant.
            data = loads(content, decimal_numbers=True)
        except JsonBodyError as exc:
            raise InvalidInput(f"JSON 格式错误：{exc.message}") from exc
        if isinstance(data, dict) and "items" in data:
            data = data["items"]
        if not isinstance(data, list):
            raise InvalidInput("JSON 目录文件必须是数组或 {\"items\": [...]}")
        return data
    raise InvalidInput(f"不支持的目录文件格式：{fmt}（使用 .csv 或 .json）")


def catalogue_load(rows: list[dict]) -> dict[str, int]:
    """Upsert catalogue rows on ``med_list_codg``. All or nothing: any bad row
    refuses the whole load, listing the rows (1-based) and their problems."""
    clean: list[dict] = []
    regional: list[dict] = []
    problems: list[str] = []
    seen: set[str] = set()
    seen_regional: set[tuple[str, str]] = set()
    for number, row in enumerate(rows, start=1):
        item, errors = catalogue_row_parse(row)
        if item and "region" in item:
            key = (item["region"], item["med_list_codg"])
            if key in seen_regional:
                errors = [f"统筹区 {key[0]} 的编码 {key[1]} 在文件中重复"]
            else:
                seen_regional.add(key)
                regional.append(item)
                continue
        elif item and item["med_list_codg"] in seen:
            errors = [f"编码 {item['med_list_codg']} 在文件中重复"]
        if errors:
            problems.append(f"第{number}行：" + "；".join(errors))
            continue
        seen.add(item["med_list_codg"])
        clean.append(item)
    known = _known_codes({code for _, code in seen_regional} - seen)
    for item in regional:
        if item["med_list_codg"] not in seen and item["med_list_codg"] not in known:
            problems.append(f"统筹区 {item['region']} 的编码 {item['med_list_codg']} 不在目录中（请先导入该项目）")
    if problems:
        shown = problems[:20] + ([f"……另有 {len(problems) - 20} 行错误"] if len(problems) > 20 else [])
        raise InvalidInput("目录文件有误，未导入任何项目：\n" + "\n".join(shown), {"errors": problems})
    if not clean and not regional:
        raise InvalidInput("目录文件没有任何项目")
    counts = {"created": 0, "updated": 0, "unchanged": 0}
    if regional:
        counts["regional"] = 0
    with core_atomic():
        codes = sorted(seen)
        current = {}
        for start in range(0, len(codes), 500):  # stay under SQLite's parameter limit
            chunk = codes[start:start + 500]
            current.update({c.med_list_codg: c for c in CatalogueItem.objects.filter(med_list_codg__in=chunk)})
        for item in clean:
            existing = current.get(item["med_list_codg"])
            if existing is None:
                CatalogueItem.objects.create(**item)
                counts["created"] += 1
            elif any(getattr(existing, k) != v for k, v in item.items()):
                for k, v in item.items():
                    setattr(existing, k, v)
                existing.save()
                counts["updated"] += 1
            else:
                counts["unchanged"] += 1
        for item in regional:
            _, created = RegionCatalogueItem.objects.update_or_create(
                region=item["region"], med_list_codg=item["med_list_codg"],
                defaults={name: item[name] for name in REGION_FIELDS})
            counts["regional"] += 1
        audit_record("catalogue.load", "catalogue", counts)
    return counts


def _known_codes(codes: set[str]) -> set[str]:
    codes, found = sorted(codes), set()
    for start in range(0, len(codes), 500):  # stay under SQLite's parameter limit
        found.update(CatalogueItem.objects.filter(med_list_codg__in=codes[start:start + 500])
                     .values_list("med_list_codg", flat=True))
    return found


_CLASS_NAMES = {"A": "甲类", "B": "乙类", "C": "丙类"}


def region_catalogue_lines(institution, terms: dict[str, RegionCatalogueItem]) -> list[str]:
    """Explanation lines for the items settled on the treatment region's
    own terms (``terms``: what ``Reference.regional_terms`` gave for the bill)."""
    if not terms:
        return []
    region = Region.objects.filter(admdvs=institution.region).first()
    place = f"{region.name}（{institution.region}）" if region else institution.region
    parts = []
    for code, t in sorted(terms.items()):
        text = _CLASS_NAMES[t.list_class] + (f"先行自付{Decimal(t.self_pay_ratio_permille) / 10:f}%"
                                            if t.list_class == "B" else "")
        if t.price_cap_fen is not None:
            text += f"，最高支付限价{fen_to_amount(t.price_cap_fen)}元"
        parts.append(f"{code} {text}")
    return [f"就医地目录：按就医地{place}的目录执行 — " + "；".join(parts) + "。"]
