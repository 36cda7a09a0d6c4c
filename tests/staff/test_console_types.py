"""The console's typed API layer (frontend/src/api/staff.ts) against the published
OpenAPI schema: every staff component the console reads has its interface there
(the property check itself is tests/common/test_schema_conformance.py's), and the
string unions list exactly the schema's enum values."""

from __future__ import annotations

from tests.common.test_schema_conformance import _published_schema, _typescript

STAFF_INTERFACES = {
    "StaffMe": "StaffMeOutput", "StaffCsrf": "StaffCsrfApiOutput", "StaffPersonSummary": "PersonSummaryOutput",
    "LookupResult": "LookupApiOutput", "CaseVoucher": "CaseVoucherOutput",
    "CaseAuthorization": "CaseAuthorizationOutput", "CaseFamily": "CaseFamilyOutput", "CaseFiling": "CaseFilingOutput",
    "CasePayment": "CasePaymentOutput", "ResetTicket": "TicketOutput", "ApprovalRequest": "RequestOutput",
    "CaseNote": "NoteOutput", "CaseOtherTeamsOpen": "CaseOtherTeamsOutput", "CaseView": "CaseOutput", "VoucherState": "VoucherStateOutput",
    "StaffAlert": "AlertListApiOutput", "AuditEvent": "AuditEventOutput", "AuditPage": "AuditListApiOutput",
    "AuditCheckpoint": "AuditCheckpointOutput", "AuditCheckpointStatus": "AuditCheckpointApiOutput",
}
STAFF_UNIONS = {"StaffRole": "StaffRoleEnum", "StaffLookupBy": "StaffLookupByEnum",
                "StaffRequestKind": "StaffRequestKindEnum", "StaffRequestStatus": "StaffRequestStatusEnum",
                "StaffAlertKind": "StaffAlertKindEnum"}


def test_every_staff_response_the_console_reads_has_its_checked_interface():
    interfaces, _ = _typescript()
    named = {name: component for name, (component, _) in interfaces.items()}
    assert {name: named.get(name) for name in STAFF_INTERFACES} == STAFF_INTERFACES
    schema = _published_schema()
    read = set()
    for path, operations in schema["paths"].items():
        if not path.startswith("/api/staff/"):
            continue
        for operation in operations.values():
            for status, answer in operation.get("responses", {}).items():
                node = answer.get("content", {}).get("application/json", {}).get("schema") if status.startswith("2") else None
                node = (node or {}).get("items", node or {})
                if "$ref" in node:
                    read.add(node["$ref"].rsplit("/", 1)[1])
    assert read <= set(STAFF_INTERFACES.values()), sorted(read - set(STAFF_INTERFACES.values()))


def test_staff_unions_list_the_schema_enums():
    components = _published_schema()["components"]["schemas"]
    _, unions = _typescript()
    assert {u: unions.get(u) for u in STAFF_UNIONS} == {
        u: sorted(components[c]["enum"]) for u, c in STAFF_UNIONS.items()}
