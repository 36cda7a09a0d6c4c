"""Family relations in the registry (issue #13): household registers (户籍),
civil-status relations (spouse, parent-child), and the check of a claimed
relation (9402 亲属关系核验, ours).

A relation is always "the relation of the RELATIVE to the person"
(``parent``: the relative is the person's parent), with the codes of
``engine.RELATIONS``: spouse, parent, child, sibling, grandparent,
grandchild.

How a claimed relation is verified (``relation_check``), first match wins:

- ``spouse`` / ``parent_child``: a civil relation recorded between the two
  (marriage registration; parent and child);
- ``household``: both on one household register, with roles relative to the
  head that state it (head–spouse; head–child; head–parent);
- ``derived``: two parent links (grandparent / grandchild), a shared
  parent (siblings), or the household register implying it (the head's
  parent and the head's child: grandparent; two children of the head:
  siblings). The parent links used are the civil ones plus those the
  household registers state (the head is the parent of each ``child`` and
  the child of each ``parent`` member).
"""

from __future__ import annotations

import re

from django.db.models import Q

from common.envelope import Envelope, EnvelopeError, InfCode

from ..db import core_atomic
from ..engine.params import RELATIONS
from ..enums import CivilRelationKind, HouseholdRole
from ..errors import Conflict, InvalidInput
from ..models import CivilRelation, Household, HouseholdMember, InsuredPerson
from .audit import audit_record

RELATION_NAMES = {"spouse": "配偶", "parent": "父母", "child": "子女", "sibling": "兄弟姐妹",
                  "grandparent": "祖父母/外祖父母", "grandchild": "孙子女/外孙子女"}
_HH_NO = re.compile(r"[0-9A-Z]{4,30}", re.ASCII)
_PSN_NO = re.compile(r"[0-9]{20}", re.ASCII)


def _person(psn_no: str) -> InsuredPerson:
    person = InsuredPerson.objects.filter(psn_no=psn_no).first() if _PSN_NO.fullmatch(psn_no or "") else None
    if person is None:
        raise InvalidInput(f"人员编号 {psn_no!r} 不存在")
    return person


# --- operator services --------------------------------------------------------------


def household_register(hh_no: str, region: str, members: list[tuple[str, str]]) -> tuple[Household, int]:
    """Create a household register or add members to it: ``members`` is
    [(psn_no, role)], exactly one ``head`` on the register. Idempotent: a
    member already on this register with the same role is kept; a person on
    another register, or a different role, is refused (move them first:
    a person is on one register). Returns (household, members added)."""
    hh_no = (hh_no or "").strip().upper()
    if not _HH_NO.fullmatch(hh_no):
        raise InvalidInput(f"户号必须是4-30位数字或大写字母：{hh_no!r}")
    if not members:
        raise InvalidInput("户籍成员不能为空")
    seen = set()
    for psn_no, role in members:
        if role not in HouseholdRole.values:
            raise InvalidInput(f"与户主关系无效：{role!r}（可选：{', '.join(HouseholdRole.values)}）")
        if psn_no in seen:
            raise InvalidInput(f"人员 {psn_no} 重复")
        seen.add(psn_no)
        _person(psn_no)
    added = 0
    with core_atomic():
        household, created = Household.objects.get_or_create(hh_no=hh_no, defaults={"region": region})
        if not created and household.region != region:
            raise Conflict(f"户号 {hh_no} 已登记在 {household.region}")
        heads = [p for p, role in members if role == HouseholdRole.HEAD]
        current_head = household.members.filter(role=HouseholdRole.HEAD).values_list("psn_no", flat=True).first()
        if len(heads) > 1 or (heads and current_head and heads[0] != current_head):
            raise Conflict(f"户号 {hh_no} 只能有一位户主")
        if not heads and not current_head:
            raise InvalidInput("户籍须登记户主（role=head）")
        for psn_no, role in members:
            existing = HouseholdMember.objects.filter(psn_no=psn_no).select_related("household").first()
            if existing is not None:
                if existing.household_id != household.pk or existing.role != role:
                    raise Conflict(f"人员 {psn_no} 已登记在户号 {existing.household.hh_no}（{existing.get_role_display()}）")
                continue
            HouseholdMember.objects.create(household=household, psn_no=psn_no, role=role)
            added += 1
        if created or added:
            audit_record("household.register", hh_no, {"region": region, "added": added,
                                                        "members": [[p, r] for p, r in members]})
    return household, added


def relation_register(kind: str, psn_no: str, rel_psn_no: str) -> tuple[CivilRelation, bool]:
    """Record a civil relation: ``spouse`` (either order) or ``parent_child``
    (``psn_no`` is the parent of ``rel_psn_no``). Idempotent."""
    if kind not in CivilRelationKind.values:
        raise InvalidInput(f"关系类型无效：{kind!r}（可选：spouse、parent_child）")
    if psn_no == rel_psn_no:
        raise InvalidInput("不能登记与本人的关系")
    parent, child = _person(psn_no), _person(rel_psn_no)
    if kind == CivilRelationKind.SPOUSE:
        psn_no, rel_psn_no = sorted((psn_no, rel_psn_no))
        pair = [psn_no, rel_psn_no]
        others = CivilRelation.objects.filter(kind=kind).filter(Q(psn_no__in=pair) | Q(rel_psn_no__in=pair))
        if others.exclude(psn_no=psn_no, rel_psn_no=rel_psn_no).exists():
            raise Conflict("其中一人已登记其他配偶关系")
    else:
        if parent.birth_date >= child.birth_date:
            raise InvalidInput("父母的出生日期须早于子女")
        if CivilRelation.objects.filter(kind=kind, rel_psn_no=rel_psn_no).exclude(psn_no=psn_no).count() >= 2:
            raise Conflict(f"人员 {rel_psn_no} 已登记两位父母")
        if CivilRelation.objects.filter(kind=kind, psn_no=rel_psn_no, rel_psn_no=psn_no).exists():
            raise Conflict("两人已登记为相反的父母子女关系")
    with core_atomic():
        relation, created = CivilRelation.objects.get_or_create(kind=kind, psn_no=psn_no, rel_psn_no=rel_psn_no)
        if created:
            audit_record("relation.register", psn_no, {"kind": kind, "rel_psn_no": rel_psn_no})
    return relation, created


# --- the check ------------------------------------------------------------------------


def _household(psn_no: str) -> tuple[int | None, str]:
    row = HouseholdMember.objects.filter(psn_no=psn_no).values_list("household_id", "role").first()
    return row if row else (None, "")


def _parents(psn_no: str) -> set[str]:
    """Every parent of ``psn_no`` the registry knows: civil parent-child
    relations, and the household register (the head is the parent of each
    ``child`` member; each ``parent`` member is the head's parent)."""
    parents = set(CivilRelation.objects.filter(kind=CivilRelationKind.PARENT_CHILD, rel_psn_no=psn_no)
                  .values_list("psn_no", flat=True))
    household, role = _household(psn_no)
    if household is not None:
        members = HouseholdMember.objects.filter(household_id=household)
        if role == HouseholdRole.CHILD:
            parents |= set(members.filter(role=HouseholdRole.HEAD).values_list("psn_no", flat=True))
        elif role == HouseholdRole.HEAD:
            parents |= set(members.filter(role=HouseholdRole.PARENT).values_list("psn_no", flat=True))
    parents.discard(psn_no)
    return parents


# (the person's role, the relative's role) on one register -> the relation of the relative to the person
_HOUSEHOLD_DIRECT = {
    ("head", "spouse"): "spouse", ("spouse", "head"): "spouse",
    ("head", "child"): "child", ("child", "head"): "parent",
    ("head", "parent"): "parent", ("parent", "head"): "child",
}
_HOUSEHOLD_DERIVED = {
    ("child", "parent"): "grandparent", ("parent", "child"): "grandchild",
    ("child", "child"): "sibling", ("head", "sibling"): "sibling", ("sibling", "head"): "sibling",
    ("head", "grandchild"): "grandchild", ("grandchild", "head"): "grandparent",
}


def relation_check(psn_no: str, rel_psn_no: str, relation: str) -> tuple[bool, str, str]:
    """Is ``rel_psn_no`` the ``relation`` of ``psn_no``? -> (verified,
    basis, memo in Chinese). basis: spouse / parent_child / household /
    derived / "" (not verified)."""
    name = RELATION_NAMES[relation]
    civil = CivilRelation.objects.filter
    if relation == "spouse" and civil(kind=CivilRelationKind.SPOUSE, psn_no=min(psn_no, rel_psn_no),
                                      rel_psn_no=max(psn_no, rel_psn_no)).exists():
        return True, "spouse", "婚姻登记记录显示二人为配偶"
    if relation in ("parent", "child"):
        parent, child = (rel_psn_no, psn_no) if relation == "parent" else (psn_no, rel_psn_no)
        if civil(kind=CivilRelationKind.PARENT_CHILD, psn_no=parent, rel_psn_no=child).exists():
            return True, "parent_child", f"亲子关系登记记录显示对方为本人的{name}"
    mine, their = _household(psn_no), _household(rel_psn_no)
    same = mine[0] is not None and mine[0] == their[0]
    if same and _HOUSEHOLD_DIRECT.get((mine[1], their[1])) == relation:
        return True, "household", f"户籍登记（同一户口簿）显示对方为本人的{name}"
    if same and _HOUSEHOLD_DERIVED.get((mine[1], their[1])) == relation:
        return True, "derived", f"户籍登记（同一户口簿）显示对方为本人的{name}"
    if relation in ("grandparent", "grandchild"):
        elder, younger = (rel_psn_no, psn_no) if relation == "grandparent" else (psn_no, rel_psn_no)
        if any(elder in _parents(middle) for middle in _parents(younger)):
            return True, "derived", f"由两代父母子女关系推定对方为本人的{name}"
    if relation == "sibling" and _parents(psn_no) & _parents(rel_psn_no):
        return True, "derived", "由共同的父母推定二人为兄弟姐妹"
    if relation in ("parent", "child"):
        parent, child = (rel_psn_no, psn_no) if relation == "parent" else (psn_no, rel_psn_no)
        if parent in _parents(child):
            return True, "household", f"户籍登记显示对方为本人的{name}"
    return False, "", f"登记信息中未查到对方为本人的{name}"


def relation_find(psn_no: str, rel_psn_no: str) -> str | None:
    """The first relation (in ``engine.RELATIONS`` order) the registry
    verifies between the two, or None."""
    for relation in RELATIONS:
        if relation_check(psn_no, rel_psn_no, relation)[0]:
            return relation
    return None


# --- 9402 -----------------------------------------------------------------------------


def relation_verify(env: Envelope) -> dict:
    """9402 亲属关系核验 (ours): {"data": {psn_no, rel_psn_no, relation}} ->
    {"relation": {psn_no, rel_psn_no, relation, verified "1"/"0", basis, memo}}.
    An unknown person is 2001; a bad relation code or the same person is 1007."""
    data = env.input.get("data")
    if not isinstance(data, dict):
        raise EnvelopeError(InfCode.INPUT_INVALID, "缺少 input.data", msgid=env.msgid)
    values = {}
    for name in ("psn_no", "rel_psn_no", "relation"):
        value = data.get(name)
        if not isinstance(value, str) or not value:
            raise EnvelopeError(InfCode.INPUT_INVALID, f"缺少 {name}（字符串）", msgid=env.msgid)
        values[name] = value
    if values["relation"] not in RELATIONS:
        raise EnvelopeError(InfCode.INPUT_INVALID, f"relation 须为 {'、'.join(RELATIONS)} 之一", msgid=env.msgid)
    for name in ("psn_no", "rel_psn_no"):
        if not _PSN_NO.fullmatch(values[name]):
            raise EnvelopeError(InfCode.INPUT_INVALID, f"{name} 须为20位数字", msgid=env.msgid)
        if not InsuredPerson.objects.filter(psn_no=values[name]).exists():
            raise EnvelopeError(InfCode.PERSON_NOT_FOUND, f"未查询到人员 {values[name]} 的参保信息", msgid=env.msgid)
    if values["psn_no"] == values["rel_psn_no"]:
        raise EnvelopeError(InfCode.INPUT_INVALID, "不能核验与本人的亲属关系", msgid=env.msgid)
    verified, basis, memo = relation_check(values["psn_no"], values["rel_psn_no"], values["relation"])
    return {"relation": {**values, "verified": "1" if verified else "0", "basis": basis, "memo": memo}}
