"""Each journal that keeps whole answers or payloads stores them encrypted
(common.encrypted_fields): the column holds ``v1.`` ciphertext, never the ID
number, and a read gives back exactly what was written (a replay is the
first answer verbatim)."""

from __future__ import annotations

import json

import pytest
from django.db import connections
from django.utils import timezone

from common import crypto, demodata
from common.encrypted_fields import EncryptedJSONField, EncryptedTextField, decrypt_column, encrypt_column

pytestmark = pytest.mark.django_db(databases=["default", "core"])

NUMBER = demodata.DEMO_PERSONAS["employee"].id_number  # ends in X
ANSWER = {"infcode": 0, "output": {"baseinfo": {"psn_no": "44010000000000000001", "certno": NUMBER,
                                                "psn_name": "胡洁秀"}}}
ANSWER_TEXT = json.dumps(ANSWER, ensure_ascii=False)  # the gateway journal keeps the rendered answer text


def raw(model, pk: int, column: str, using: str = "default"):
    conn = connections[using]
    with conn.cursor() as cursor:
        cursor.execute(f"SELECT {conn.ops.quote_name(column)} FROM {conn.ops.quote_name(model._meta.db_table)} "
                       "WHERE id = %s", [pk])
        return cursor.fetchone()[0]


def assert_sealed(value) -> None:
    assert isinstance(value, str) and value.startswith("v1."), value
    assert NUMBER not in value and NUMBER.lower() not in value


def test_gateway_journal_stores_the_answer_encrypted():
    from terminal.enums import GatewayMessageStatus
    from terminal.models import GatewayMessage

    row = GatewayMessage.objects.create(fixmedins_code="P44010000001", msgid="M1", infno="1101", request_hash="h")
    # the gateway stores its answer with a queryset update
    GatewayMessage.objects.filter(pk=row.pk).update(status=GatewayMessageStatus.DONE, response=ANSWER_TEXT,
                                                    completed_at=timezone.now())
    assert_sealed(raw(GatewayMessage, row.pk, "response"))
    assert crypto.decrypt(raw(GatewayMessage, row.pk, "response")) == ANSWER_TEXT
    assert GatewayMessage.objects.get(pk=row.pk).response == ANSWER_TEXT
    assert GatewayMessage.objects.values_list("response", flat=True).get(pk=row.pk) == ANSWER_TEXT
    # a message still processing has no answer: NULL stays NULL
    pending = GatewayMessage.objects.create(fixmedins_code="P44010000001", msgid="M2", infno="1101", request_hash="h")
    assert raw(GatewayMessage, pending.pk, "response") is None
    assert GatewayMessage.objects.get(pk=pending.pk).response is None


def test_payment_journal_stores_request_and_core_output_encrypted():
    from accounts.models import Person
    from terminal.models import GatewayMessage, Institution
    from payments.models import Payment
    from wallet.models import Voucher

    person = Person.objects.create(psn_no="44010000000000000001", name="胡洁秀",
                                   id_number_encrypted=crypto.encrypt(NUMBER),
                                   id_number_hash=Person.hash_id_number(NUMBER), gender="2",
                                   birth_date="1988-03-29", insutype="310", insured_region="440100")
    voucher = Voucher.objects.create(person=person, code_secret_encrypted=crypto.encrypt("s"))
    institution = Institution.objects.create(fixmedins_code="P44010000001", name="药店", kind="pharmacy",
                                             region="440100", secret_encrypted=crypto.encrypt("k"))
    request = {"druginfo": {"mdtrt_cert_type": "02", "mdtrt_cert_no": NUMBER.lower(), "medfee_sumamt": "50.00"}}
    output = {"setlinfo": {"certno": NUMBER, "acct_pay": "17.50"}, "setldetail": [], "explanation": ["说明"]}
    message = GatewayMessage.objects.create(fixmedins_code="P44010000001", msgid="M1", infno="2102", request_hash="h")
    payment = Payment.objects.create(public_id="p1", institution=institution, message=message, core_msgid="M1",
                                     voucher=voucher, status="settled", request=request, medfee_fen=5000)
    Payment.objects.filter(pk=payment.pk).update(core_output=output)
    assert_sealed(raw(Payment, payment.pk, "request"))
    assert_sealed(raw(Payment, payment.pk, "core_output"))
    again = Payment.objects.get(pk=payment.pk)
    assert (again.request, again.core_output) == (request, output)


def test_core_envelope_journal_replays_the_exact_text_from_ciphertext():
    from core_platform.models import EnvelopeMessage

    # key order and spacing as the core wrote them: a replay is byte-identical
    text = '{"output":{"baseinfo":{"certno":"%s","psn_name":"胡洁秀"}},"infcode":0}' % NUMBER
    row = EnvelopeMessage.objects.create(client_id="wallet", fixmedins_code="P1", msgid="M1", infno="1101",
                                         request_hash="h")
    assert raw(EnvelopeMessage, row.pk, "response", "core") == ""  # processing: nothing stored yet
    EnvelopeMessage.objects.filter(pk=row.pk).update(status="done", response=text)
    assert_sealed(raw(EnvelopeMessage, row.pk, "response", "core"))
    assert EnvelopeMessage.objects.get(pk=row.pk).response == text


def test_core_settlement_setlinfo_is_encrypted():
    from core_platform.models import Settlement

    field = Settlement._meta.get_field("setlinfo")
    assert isinstance(field, EncryptedJSONField)
    value = {"setl_id": "S1", "certno": NUMBER}
    sealed = field.get_prep_value(value)
    assert_sealed(sealed)
    assert field.from_db_value(sealed, None, connections["core"]) == value


def test_the_migration_steps_encrypt_clear_rows_in_place_and_back():
    from terminal.models import GatewayMessage

    row = GatewayMessage.objects.create(fixmedins_code="P44010000001", msgid="M1", infno="1101", request_hash="h")
    conn = connections["default"]
    table = conn.ops.quote_name(GatewayMessage._meta.db_table)
    clear = json.dumps(ANSWER, ensure_ascii=False)
    with conn.cursor() as cursor:  # a row written before the migration
        cursor.execute(f"UPDATE {table} SET response = %s WHERE id = %s", [clear, row.pk])

    class Editor:
        connection = conn

    encrypt_column(GatewayMessage._meta.db_table, "response")(None, Editor)
    assert_sealed(raw(GatewayMessage, row.pk, "response"))
    assert GatewayMessage.objects.get(pk=row.pk).response == clear
    encrypt_column(GatewayMessage._meta.db_table, "response")(None, Editor)  # idempotent: not sealed twice
    assert GatewayMessage.objects.get(pk=row.pk).response == clear
    decrypt_column(GatewayMessage._meta.db_table, "response")(None, Editor)
    assert raw(GatewayMessage, row.pk, "response") == clear


def test_empty_text_is_not_sealed_and_journals_use_the_encrypted_fields():
    from core_platform.models import EnvelopeMessage
    from terminal.models import GatewayMessage
    from payments.models import Payment

    assert EncryptedTextField().get_prep_value("") == ""
    assert isinstance(GatewayMessage._meta.get_field("response"), EncryptedTextField)  # the exact answer text
    assert isinstance(Payment._meta.get_field("request"), EncryptedJSONField)
    assert isinstance(Payment._meta.get_field("core_output"), EncryptedJSONField)
    assert isinstance(EnvelopeMessage._meta.get_field("response"), EncryptedTextField)
