"""Reference data kept per process: the rows every settlement reads and
operators change rarely — institutions, catalogue items, the regions' own
catalogue terms (就医地目录) and policy versions.

``reference()`` costs one query: the token in ``ReferenceVersion``, which
database triggers (migration 0010) replace in the same transaction as any
INSERT, UPDATE, DELETE or TRUNCATE of those tables, whoever writes them — a
loader, an operator's SQL, a test's ``.update()``. The same token as this
process's copy means the copy is current; another token starts a new,
empty copy (rows are then read as they are asked for). No token — the row
not written yet — means nothing is kept.

A copy is only ever filled for its own token: a request that read an older
token fills the older copy, which is no longer reachable. The rows are
shared between threads: read them, never change them.
"""

from __future__ import annotations

import datetime as dt

from django.db import connections

from .db import CORE_DB
from .models import CatalogueItem, Institution, PolicyParameters, ReferenceVersion, RegionCatalogueItem

_MISSING = object()


class Reference:
    def __init__(self, token: int | None):
        self.token = token
        self._institutions: dict[str, Institution | None] = {}
        self._catalogue: dict[str, CatalogueItem | None] = {}
        self._regional: dict[tuple[str, str], RegionCatalogueItem | None] = {}
        self._policies: dict[tuple[str, str], list[PolicyParameters]] = {}

    def institution(self, fixmedins_code: str) -> Institution | None:
        found = self._institutions.get(fixmedins_code, _MISSING)
        if found is _MISSING:
            found = self._institutions[fixmedins_code] = Institution.objects.filter(
                fixmedins_code=fixmedins_code).first()
        return found

    def catalogue_items(self, codes) -> dict[str, CatalogueItem]:
        """The catalogue items of ``codes`` that exist, by code."""
        missing = [code for code in codes if code not in self._catalogue]
        if missing:
            found = {c.med_list_codg: c for c in CatalogueItem.objects.filter(med_list_codg__in=missing)}
            for code in missing:
                self._catalogue[code] = found.get(code)
        return {code: self._catalogue[code] for code in codes if self._catalogue[code] is not None}

    def regional_terms(self, region: str, codes) -> dict[str, RegionCatalogueItem]:
        """The treatment region's own terms for ``codes`` (at most 500), by code."""
        codes = sorted(set(codes))[:500]
        missing = [code for code in codes if (region, code) not in self._regional]
        if missing:
            found = {r.med_list_codg: r for r in
                     RegionCatalogueItem.objects.filter(region=region, med_list_codg__in=missing)}
            for code in missing:
                self._regional[(region, code)] = found.get(code)
        return {code: self._regional[(region, code)] for code in codes
                if self._regional[(region, code)] is not None}

    def policy(self, region: str, insutype: str, on: dt.date) -> PolicyParameters | None:
        """The version in force on ``on``: the latest effective_from <= on,
        the highest version on the same date (selectors.policy_current)."""
        versions = self._policies.get((region, insutype))
        if versions is None:
            versions = self._policies[(region, insutype)] = list(
                PolicyParameters.objects.filter(region=region, insutype=insutype)
                .order_by("-effective_from", "-version"))
        return next((p for p in versions if p.effective_from <= on), None)


_current = Reference(None)


def reference() -> Reference:
    """This process's copy of the reference data, current as of this call."""
    global _current
    with connections[CORE_DB].cursor() as cursor:
        cursor.execute(f"SELECT token FROM {ReferenceVersion._meta.db_table} WHERE id = 1")
        row = cursor.fetchone()
    if row is None:
        return Reference(None)
    current = _current
    if current.token != row[0]:
        current = _current = Reference(row[0])
    return current
