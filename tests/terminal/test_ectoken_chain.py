"""Issue #20 item 1: an ecToken carries the chain that authorised its code —
the person's voucher, the channel authorization (and so the login) the code
was shown under, and the family binding when a binder showed a relative's
code — and every use re-checks all of it (terminal/services/ectokens.py
``ectoken_resolve``). One test per link: once the link ends, the same token
is refused by the decode retry, 1101 by token, 2101 and every further 2102
(new msgids) with its own infcode and message, and nothing more is posted
in the core's ledger; a 2103 of a bill settled before still goes through (a
reversal gives the money back and takes no ecToken). A logout or an expired
app session is not a link: the token still settles.

The settlement core runs as its own HTTP service with its own database; the
pharmacy speaks the national envelope."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest
from django.utils import timezone

from accounts.models import LoginSession
from tests.family.helpers import ADULT_CHILD, EMPLOYEE, SMALL_CHILD, bound_adult
from tests.family.test_relative_code import (LARGE, _child_with_proxy_pin, adult_with_proxy_pin,  # noqa: F401
                                             binder, strong_pin)
from tests.security.test_freeze_and_idor import _unfreeze
from tests.support import processes
from tests.support.app import AppClient
from tests.support.pos import A_ITEMS, Pos, pharmacy_for
from tests.codes.test_code_authorization import _revoke
from terminal.models import EcToken, Institution
from payments.models import Payment
from terminal.services.ectokens import ectoken_resolve

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("core_url")]

SMALL = [(A_ITEMS[0].med_list_codg, "25.00", "2")]  # 50 yuan: under the confirmation threshold

# What each broken link answers, at every use of the token (infcode, err_msg).
FROZEN = (3005, "该参保人的医保电子凭证已冻结或注销，不能使用医保电子凭证结算")
REVOKED = (3007, "出示该医保码的渠道授权已撤销，电子凭证令牌已失效，请参保人重新出示医保码")
BINDER_FROZEN = (3007, "出示该医保码的家属的医保电子凭证已冻结或注销，电子凭证令牌已失效，请重新出示医保码")
BINDING_ENDED = (3008, "出示该医保码的亲情账户绑定已解除，电子凭证令牌已失效，请参保人本人出示医保码")

_msgids = itertools.count(1)


def _msgid(tag: str) -> str:
    return f"CHAIN-{tag}-{next(_msgids)}"


def _books(core_live) -> tuple[int, int]:
    """The core's book of record: how many postings and settlements it holds."""
    return processes.core_eval(core_live.db_url, "(m.Posting.objects.count(), m.Settlement.objects.count())")


def _settles(pos: Pos, person, tag: str) -> dict:
    answer = pos.settle(pos.bill(SMALL, insutype=person.insutype), msgid=_msgid(tag))
    assert answer["infcode"] == 0, answer
    assert answer["output"]["setlinfo"]["psn_no"] == person.psn_no
    return answer["output"]["setlinfo"]


def _decoded(pos: Pos, code: str, person) -> None:
    answer = pos.decode(code)
    assert answer["code"] == 0, answer
    assert answer["data"]["userName"] == person.name


def _every_use_refused(pos: Pos, person, shown: str, expected: tuple[int, str], core_live, tag: str) -> None:
    """1101 by token, 2101, two 2102s with new msgids and the decode retry:
    each refused with ``expected``; no payment recorded, nothing posted at the core."""
    books = _books(core_live)
    msgids = [_msgid(tag), _msgid(tag)]
    answers = {
        "1101": pos.call("1101", {"data": {"mdtrt_cert_type": "01", "mdtrt_cert_no": pos.token}}),
        "2101": pos.pre_settle(pos.bill(SMALL, insutype=person.insutype)),
        **{f"2102 {m}": pos.settle(pos.bill(SMALL, insutype=person.insutype), msgid=m) for m in msgids},
    }
    for name, answer in answers.items():
        assert (answer["infcode"], answer["err_msg"]) == expected, (name, answer)
        assert not answer.get("output"), (name, answer)
    assert not Payment.objects.filter(message__msgid__in=msgids).exists()
    assert _books(core_live) == books  # nothing posted in the book of record
    again = pos.decode(shown)  # the same counter asking again (a lost answer) gets no token
    assert (again["code"], again["errorCode"], again["message"]) == (3005, "EC_VOUCHER_UNAVAILABLE", expected[1])


def _reversal_still_goes_through(pos: Pos, setlinfo: dict) -> None:
    """2103 names a settlement, not a token: the money taken while the chain
    held can always go back."""
    reversed_ = pos.reverse(setlinfo["setl_id"])
    assert reversed_["infcode"] == 0, reversed_
    assert reversed_["output"]["setlinfo"]["psn_no"] == setlinfo["psn_no"]


def _link_ends(client, core_live, person, shown: str, end, expected: tuple[int, str], tag: str) -> Pos:
    """A counter decodes ``shown`` and settles once; ``end(pos)`` breaks one
    link; then every use of the token is refused with ``expected`` and the
    first bill can still be reversed. The counter, for more."""
    pos = Pos(client, pharmacy_for(person))
    _decoded(pos, shown, person)
    first = _settles(pos, person, tag)
    end(pos)
    _every_use_refused(pos, person, shown, expected, core_live, tag)
    _reversal_still_goes_through(pos, first)
    return pos


# --- the person's own code ---------------------------------------------------------------

def test_revoking_the_channel_that_showed_the_code_ends_its_token(client, core_live):
    wechat = AppClient(client, "wechat").login()
    wechat.activate(EMPLOYEE)
    alipay = AppClient(client, "alipay").login()
    alipay.activate(EMPLOYEE)

    def end(pos):
        _revoke(wechat, "alipay")  # another channel's authorization: not this token's chain
        _settles(pos, EMPLOYEE, "REV")
        _revoke(alipay, "wechat")  # the one that showed the code (revoked from the other phone)

    _link_ends(client, core_live, EMPLOYEE, wechat.get("/api/voucher/code").json()["code"], end, REVOKED, "REV")


def test_freezing_the_voucher_ends_its_token_and_an_unfreeze_does_not_revive_it(client, core_live):
    app = AppClient(client, "wechat").login()
    app.activate(EMPLOYEE)

    def end(pos):
        assert app.post("/api/voucher/freeze").json()["status"] == "frozen"

    pos = _link_ends(client, core_live, EMPLOYEE, app.get("/api/voucher/code").json()["code"], end, FROZEN, "FRZ")
    # Found the phone and unfroze within the token's 10 minutes: the token stays dead.
    assert _unfreeze(app).json() == {"status": "active"}
    late = pos.settle(pos.bill(SMALL, insutype=EMPLOYEE.insutype), msgid=_msgid("FRZ"))
    assert late["infcode"] == 3006, late
    _decoded(pos, app.get("/api/voucher/code").json()["code"], EMPLOYEE)  # a fresh code works again
    _settles(pos, EMPLOYEE, "FRZ")


def test_a_token_without_its_chain_is_refused(client):
    app = AppClient(client, "wechat").login()
    app.activate(EMPLOYEE)
    pos = Pos(client, pharmacy_for(EMPLOYEE))
    _decoded(pos, app.get("/api/voucher/code").json()["code"], EMPLOYEE)
    EcToken.objects.update(authorization=None)  # as a token issued before tokens carried their chain
    refused = pos.settle(pos.bill(SMALL, insutype=EMPLOYEE.insutype), msgid=_msgid("OLD"))
    assert (refused["infcode"], refused["err_msg"]) == (3006, "电子凭证令牌已失效，请重新扫码")


def test_a_logout_or_an_expired_app_session_does_not_end_the_token(client, core_live):
    app = AppClient(client, "wechat").login()
    app.activate(EMPLOYEE)
    pos = Pos(client, pharmacy_for(EMPLOYEE))
    _decoded(pos, app.get("/api/voucher/code").json()["code"], EMPLOYEE)
    assert app.post("/api/auth/logout").status_code in (200, 204)
    _settles(pos, EMPLOYEE, "OUT")  # the cashier is still settling: consent was not withdrawn
    LoginSession.objects.update(expires_at=timezone.now() - dt.timedelta(seconds=1))
    _settles(pos, EMPLOYEE, "OUT")
    info = pos.call("1101", {"data": {"mdtrt_cert_type": "01", "mdtrt_cert_no": pos.token}})
    assert info["infcode"] == 0, info


def test_the_chain_of_an_own_codes_token_is_checked_in_one_query(client, django_assert_num_queries):
    app = AppClient(client, "wechat").login()
    app.activate(EMPLOYEE)
    pos = Pos(client, pharmacy_for(EMPLOYEE))
    _decoded(pos, app.get("/api/voucher/code").json()["code"], EMPLOYEE)
    institution = Institution.objects.get(fixmedins_code=pos.code)
    with django_assert_num_queries(1):  # the pay path: token, voucher, person, authorization and its voucher
        token = ectoken_resolve(pos.token, institution)
    assert token.voucher.person.psn_no == EMPLOYEE.psn_no


# --- a relative's code shown by a binder ---------------------------------------------------

def _child_shown(binder) -> tuple[str, str]:
    """The binder's child (under 16, proxy PIN): binding id, a code shown for the child."""
    binding_id, _ = _child_with_proxy_pin(binder)
    return binding_id, binder.get(f"/api/voucher/code?person={binding_id}").json()["code"]


def test_the_binder_ending_the_binding_ends_the_relatives_token(client, binder, core_live):
    binding_id, shown = _child_shown(binder)

    def end(pos):
        assert binder.post(f"/api/family/relatives/{binding_id}/end").status_code == 200

    _link_ends(client, core_live, SMALL_CHILD, shown, end, BINDING_ENDED, "BEND")


def test_the_relative_ending_the_binding_ends_the_token_the_binder_showed(client, binder, core_live):
    binding_id = bound_adult(binder, ADULT_CHILD, "child")["id"]
    relative = AppClient(client, "alipay").login()
    relative.activate(ADULT_CHILD, pin=strong_pin(ADULT_CHILD))
    shown = binder.get(f"/api/voucher/code?person={binding_id}").json()["code"]

    def end(pos):
        assert relative.post(f"/api/family/binders/{binding_id}/end").status_code == 200

    _link_ends(client, core_live, ADULT_CHILD, shown, end, BINDING_ENDED, "REND")


def test_revoking_the_binders_channel_that_showed_it_ends_the_relatives_token(client, binder, core_live):
    _, shown = _child_shown(binder)
    other = AppClient(client, "alipay").login()
    other.activate(EMPLOYEE, pin="258036")

    def end(pos):
        _revoke(other, "wechat")  # the binding stands; the binder's channel that showed the code does not

    _link_ends(client, core_live, SMALL_CHILD, shown, end, REVOKED, "BREV")


def test_freezing_the_binders_voucher_ends_the_relatives_token(client, binder, core_live):
    _, shown = _child_shown(binder)

    def end(pos):
        assert binder.post("/api/voucher/freeze").json()["status"] == "frozen"  # the binder's phone was lost

    _link_ends(client, core_live, SMALL_CHILD, shown, end, BINDER_FROZEN, "BFRZ")


def test_a_relatives_token_survives_the_binders_logout(client, binder):
    _, shown = _child_shown(binder)
    pos = Pos(client, pharmacy_for(SMALL_CHILD))
    _decoded(pos, shown, SMALL_CHILD)
    assert binder.post("/api/auth/logout").status_code in (200, 204)
    _settles(pos, SMALL_CHILD, "BOUT")
    _settles(pos, SMALL_CHILD, "BOUT")


# --- a bill opened with the token and waiting for the PIN ----------------------------------

def _large_relative_waiting(client, binder, msgid: str):
    """An adult relative (account able to pay a large bill), bound with a proxy
    PIN the binder holds; the binder shows the code, the counter's 2102 waits
    for the PIN. (binding id, pin, counter, bill, the payment waiting)."""
    relative, binding_id, pin = adult_with_proxy_pin(binder)
    pos = Pos(client, pharmacy_for(relative))
    _decoded(pos, binder.get(f"/api/voucher/code?person={binding_id}").json()["code"], relative)
    bill = pos.bill(LARGE)
    pending = pos.settle(bill, msgid=msgid)
    assert pending["infcode"] == 1009, pending  # CONFIRMATION_PENDING: the phone is asked
    waiting = binder.get(f"/api/family/relatives/{binding_id}/payments/pending").json()
    assert len(waiting) == 1
    return binding_id, pin, pos, bill, waiting[0]["id"]


@pytest.mark.parametrize("confirm_first", [False, True], ids=["ended-then-confirmed", "confirmed-then-ended"])
def test_a_bill_waiting_for_the_pin_is_not_sent_once_the_binding_ended(client, binder, core_live, confirm_first):
    """The chain is checked again before a bill opened with the token is sent:
    the binding ended while the phone was asked (before or after the PIN), the
    terminal's next retry of its msgid is refused with 3008 and nothing is
    posted; every later retry gets the same final refusal."""
    msgid = _msgid("WAIT")
    binding_id, pin, pos, bill, payment_id = _large_relative_waiting(client, binder, msgid)
    books = _books(core_live)
    if confirm_first:
        assert binder.post(f"/api/payments/{payment_id}/confirm", {"pin": pin}).json()["status"] == "confirmed"
    assert binder.post(f"/api/family/relatives/{binding_id}/end").status_code == 200
    if not confirm_first:
        refused = binder.post(f"/api/payments/{payment_id}/confirm", {"pin": pin})
        assert refused.status_code in (404, 409), refused.content  # no longer the binder's to confirm
    for _ in range(2):
        answer = pos.settle(bill, msgid=msgid)
        assert (answer["infcode"], answer["err_msg"]) == BINDING_ENDED, answer
    payment = Payment.objects.get(message__msgid=msgid)
    assert (payment.status, payment.infcode) == ("failed", 3008)
    assert _books(core_live) == books  # nothing posted in the book of record


def test_a_bill_waiting_for_the_pin_is_not_sent_once_the_showing_channel_is_revoked(client, core_live):
    """The person's own code on WeChat, a large bill waiting for the PIN; the
    person revokes WeChat from Alipay: the retry is refused with 3007."""
    wechat = AppClient(client, "wechat").login()
    wechat.activate(EMPLOYEE, pin="258036")
    alipay = AppClient(client, "alipay").login()
    alipay.activate(EMPLOYEE, pin="258036")
    pos = Pos(client, pharmacy_for(EMPLOYEE))
    _decoded(pos, wechat.get("/api/voucher/code").json()["code"], EMPLOYEE)
    bill, msgid = pos.bill(LARGE, insutype=EMPLOYEE.insutype), _msgid("WREV")
    assert pos.settle(bill, msgid=msgid)["infcode"] == 1009
    books = _books(core_live)
    _revoke(alipay, "wechat")
    answer = pos.settle(bill, msgid=msgid)
    assert (answer["infcode"], answer["err_msg"]) == REVOKED, answer
    assert Payment.objects.get(message__msgid=msgid).status == "failed"
    assert _books(core_live) == books
