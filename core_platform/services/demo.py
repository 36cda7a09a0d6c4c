"""Load the deterministic demo data (common.demodata) into the core, through
the same services operators use. Idempotent: a second run creates nothing;
opening balances are posted once (posting kind ``opening_balance``,
reference ``demo-opening:<psn_no>``)."""

from __future__ import annotations

from collections.abc import Callable

from common import demodata

from ..enums import LedgerAccountKind, PostingKind
from ..models import Posting
from .catalogue import catalogue_load
from .ledger import fund_owner, ledger_account_get_or_create, posting_create
from .policy import policy_load
from .relations import household_register, relation_register
from .registry import (
    institution_register,
    person_cvlserv_set,
    person_enrol,
    person_identity_add,
    region_register,
)


def demo_seed(seed: int = demodata.DEFAULT_SEED, *, progress: Callable[[str], None] | None = None,
              regions: set[str] | None = None, catalogue: bool = True) -> dict:
    """``regions``: load only these regions and their persons, institutions
    and policies (tests); ``catalogue=False`` skips the catalogue."""
    data = demodata.generate(seed)
    if regions is not None:
        data.regions = [r for r in data.regions if r.admdvs in regions]
        data.persons = [p for p in data.persons if p.insured_region in regions]
        data.institutions = [i for i in data.institutions if i.region in regions]
        data.policies = [p for p in data.policies if p.region in regions]
        data.identities = [i for i in data.identities if i.psn_no[:6] in regions]
        data.civil_servants = [n for n in data.civil_servants if n[:6] in regions]
        data.households = [h for h in data.households if h.region in regions]
        data.relations = [r for r in data.relations if r.psn_no[:6] in regions and r.rel_psn_no[:6] in regions]
        data.region_catalogue = [t for t in data.region_catalogue if t.region in regions]
    if not catalogue:
        data.catalogue = []
        data.region_catalogue = []
    say = progress or (lambda message: None)
    counts = {"regions": 0, "persons": 0, "institutions": 0, "opening_postings": 0, "catalogue": {}}

    for r in data.regions:
        _, created = region_register(r.admdvs, r.name, r.province, evoucher_open=r.evoucher_open)
        counts["regions"] += created
    say(f"regions: {len(data.regions)} ({counts['regions']} new)")

    for p in data.persons:
        _, created = person_enrol(
            name=p.name, id_number=p.id_number, insutype=p.insutype, region=p.insured_region,
            employer=p.employer, psn_type=p.psn_type, psn_no=p.psn_no,
            enrolment_status=p.enrolment_status, enrolled_on=p.enrolled_on,
        )
        counts["persons"] += created
        reference = f"demo-opening:{p.psn_no}"
        if p.balance_fen > 0 and not Posting.objects.filter(kind=PostingKind.OPENING_BALANCE, reference=reference).exists():
            source = ledger_account_get_or_create(
                LedgerAccountKind.CONTRIBUTION_SOURCE, fund_owner(p.insured_region, p.insutype)
            )
            personal = ledger_account_get_or_create(LedgerAccountKind.PERSONAL, p.psn_no)
            posting_create(PostingKind.OPENING_BALANCE, reference,
                           [(source, -p.balance_fen), (personal, p.balance_fen)], memo="演示数据期初余额")
            counts["opening_postings"] += 1
    say(f"persons: {len(data.persons)} ({counts['persons']} new, {counts['opening_postings']} opening balances)")

    for psn_no in data.civil_servants:
        person_cvlserv_set(psn_no, True)
    for i in data.identities:
        person_identity_add(i.psn_no, i.psn_idet_type, i.begntime, endtime=i.endtime, psn_type_lv=i.psn_type_lv,
                            memo=i.memo)
    say(f"civil servants: {len(data.civil_servants)}, identities: {len(data.identities)}")

    for h in data.households:  # 户籍 and civil relations (issue #13, services/relations.py)
        household_register(h.hh_no, h.region, list(h.members))
    for r in data.relations:
        relation_register(r.kind, r.psn_no, r.rel_psn_no)
    say(f"households: {len(data.households)}, civil relations: {len(data.relations)}")

    for i in data.institutions:
        _, created = institution_register(code=i.fixmedins_code, name=i.name, kind=i.kind, level=i.level,
                                          region=i.region, designated=i.designated,
                                          outpatient_pooling=i.outpatient_pooling)
        counts["institutions"] += created
    say(f"institutions: {len(data.institutions)} ({counts['institutions']} new)")

    if data.catalogue:
        counts["catalogue"] = catalogue_load([
            {"med_list_codg": c.med_list_codg, "name": c.name, "kind": c.kind, "list_class": c.list_class,
             "self_pay_ratio_permille": c.self_pay_ratio_permille, "price_cap_fen": c.price_cap_fen,
             "unit": c.unit, "spec": c.spec, "mulaid_excluded": c.mulaid_excluded}
            for c in data.catalogue
        ])
    say(f"catalogue: {len(data.catalogue)} items {counts['catalogue']}")
    if data.region_catalogue:  # the treatment regions' own terms (就医地目录), issue #14
        counts["region_catalogue"] = catalogue_load([
            {"region": t.region, "med_list_codg": t.med_list_codg, "list_class": t.list_class,
             "self_pay_ratio_permille": t.self_pay_ratio_permille, "price_cap_fen": t.price_cap_fen}
            for t in data.region_catalogue
        ])
        say(f"region catalogue: {len(data.region_catalogue)} terms")

    counts["policies"] = policy_load([
        {"region": p.region, "insutype": p.insutype, "version": p.version,
         "effective_from": p.effective_from.isoformat(), "params": p.params}
        for p in data.policies
    ])
    say(f"policies: {len(data.policies)} {counts['policies']}")
    return counts
