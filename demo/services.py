"""Demo institutions: the designated demo pharmacies of the generated demo
data, registered with the gateway under their deterministic demo secrets.
Dev only: the demo app is not installed when YIBAO_ENV=production, so none
of this is on the production pay path."""

from __future__ import annotations

from common import demodata
from terminal.services.institutions import institution_register


def institution_demo_pharmacies(*, seed: int) -> list[demodata.Institution]:
    """The designated demo pharmacies, those in regions that have opened the
    e-voucher service first (the POS page's 演示机构 choice)."""
    data = demodata.generate(seed)
    open_regions = {r.admdvs for r in data.regions if r.evoucher_open}
    pharmacies = [i for i in data.institutions if i.kind == "pharmacy" and i.designated]
    return [i for i in pharmacies if i.region in open_regions] + [i for i in pharmacies if i.region not in open_regions]


def institution_demo_terminal(*, seed: int, index: int = 0, fixmedins_code: str | None = None
                              ) -> demodata.Institution | None:
    """A designated demo pharmacy — the one named by ``fixmedins_code`` (None
    if it is not a demo pharmacy), else the ``index``-th of
    ``institution_demo_pharmacies`` — registered with the gateway if it is
    not yet, with its deterministic demo secret. A person pays locally only
    at a pharmacy of their own province (elsewhere a cross-province filing is
    needed), so the POS page lets the cashier choose. Demo only: the demo API
    refuses in production, where a real institution's secret is issued once
    by the operator and never served."""
    pharmacies = institution_demo_pharmacies(seed=seed)
    if fixmedins_code is not None:
        inst = next((i for i in pharmacies if i.fixmedins_code == fixmedins_code), None)
        if inst is None:
            return None
    else:
        inst = pharmacies[index % len(pharmacies)]
    institution_register(fixmedins_code=inst.fixmedins_code, name=inst.name, kind=inst.kind, level=inst.level,
                         region=inst.region, designated=inst.designated, secret=inst.secret, actor="demo")
    return inst
