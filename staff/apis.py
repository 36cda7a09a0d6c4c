"""The support console's REST API under /api/staff/ (issue #15). Thin:
parse, call a service or selector, render. Every view but login and csrf
needs a staff session verified with both factors (staff/authentication.py);
each action checks the role's permission in its service."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json

from django.conf import settings
from django.http import HttpResponse
from django.middleware.csrf import get_token
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import permissions, serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from common.errors import ApplicationError
from common.fields import ascii_pattern, matches
from common.http import client_ip
from common.idnumber import mask_in_text, mask_in_value
from common.schema import errors

from . import selectors, services
from .authentication import IsStaff, StaffSessionAuthentication, csrf_check
from .enums import AlertKind, LookupBy, RequestKind, RequestStatus, Role

_DATE = ascii_pattern(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
AUTH_401 = "UNAUTHENTICATED, STAFF_OTP_REQUIRED (password-only session), STAFF_SESSION_EXPIRED (idle)"
FORBIDDEN = "STAFF_FORBIDDEN (the role may not), CSRF_FAILED"
CASE_404 = "CASE_NOT_FOUND (not your case, expired or unknown)"
EXPORT_MAX_ROWS = 50_000


def _date(value, field: str) -> dt.date | None:
    if value in (None, ""):
        return None
    if not matches(_DATE, value):
        raise ApplicationError("VALIDATION_ERROR", "日期格式须为 YYYY-MM-DD", detail={"fields": {field: ["日期格式不正确"]}})
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise ApplicationError("VALIDATION_ERROR", "日期不存在", detail={"fields": {field: ["日期不存在"]}}) from None


class StaffApi(APIView):
    authentication_classes = [StaffSessionAuthentication]
    permission_classes = [IsStaff]

    @property
    def member(self):
        return self.request.auth

    @property
    def ip(self):
        return client_ip(self.request)

    def reason(self) -> str:
        """The action's reason from the body, as given (the service checks it is there: STAFF_REASON_REQUIRED)."""
        data = ReasonInputSerializer(data=self.request.data)
        data.is_valid(raise_exception=True)
        return data.validated_data["reason"]


class ReasonInputSerializer(serializers.Serializer):
    reason = serializers.CharField(required=False, default="", allow_blank=True, max_length=2000, trim_whitespace=False,
                                   help_text="必填的操作原因（4至500字），记入审计。")


# --- auth -------------------------------------------------------------------------------

class StaffMeOutputSerializer(serializers.Serializer):
    username = serializers.CharField()
    role = serializers.ChoiceField(choices=Role.choices)
    team = serializers.CharField()
    permissions = serializers.ListField(child=serializers.CharField())
    idle_timeout_seconds = serializers.IntegerField()


def _me(member) -> dict:
    perms = sorted(p.split(".", 1)[1] for p in member.user.get_all_permissions() if p.startswith("staff."))
    return {"username": member.user.username, "role": member.role, "team": member.team.name, "permissions": perms,
            "idle_timeout_seconds": settings.STAFF_SESSION_IDLE_SECONDS}


class StaffCsrfApi(APIView):
    """Sets the CSRF cookie and returns the token to send as X-CSRFToken."""

    authentication_classes: list = []
    permission_classes = [permissions.AllowAny]

    class OutputSerializer(serializers.Serializer):
        csrf_token = serializers.CharField()

    @extend_schema(responses={200: OutputSerializer})
    def get(self, request):
        return Response({"csrf_token": get_token(request)})


class StaffLoginApi(APIView):
    """Password and TOTP code in one step; the session is then verified (django-otp)."""

    authentication_classes: list = []
    permission_classes = [permissions.AllowAny]

    class InputSerializer(serializers.Serializer):
        username = serializers.CharField(max_length=150)
        password = serializers.CharField(max_length=128, trim_whitespace=False)
        otp = serializers.CharField(max_length=10, help_text="6-digit TOTP code from the authenticator app.")

    @extend_schema(request=InputSerializer, responses={
        200: StaffMeOutputSerializer,
        **errors({401: "STAFF_LOGIN_FAILED (wrong username, password or code: one answer)", 403: "CSRF_FAILED",
                  429: "STAFF_LOGIN_THROTTLED (too many attempts for this username or failures from this address)"})})
    def post(self, request):
        csrf_check(request)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        member = services.staff_login(request._request, username=data.validated_data["username"],
                                      password=data.validated_data["password"], otp=data.validated_data["otp"],
                                      ip=client_ip(request))
        return Response(StaffMeOutputSerializer(_me(member)).data)


class StaffLogoutApi(StaffApi):
    @extend_schema(request=None, responses={204: None, **errors({401: AUTH_401, 403: "CSRF_FAILED"})})
    def post(self, request):
        services.staff_logout(request._request, self.member, self.ip)
        return Response(status=204)


class StaffMeApi(StaffApi):
    @extend_schema(responses={200: StaffMeOutputSerializer, **errors({401: AUTH_401})})
    def get(self, request):
        return Response(StaffMeOutputSerializer(_me(self.member)).data)


# --- lookup and cases ---------------------------------------------------------------

class PersonSummaryOutputSerializer(serializers.Serializer):
    case_id = serializers.CharField(help_text="Your case for this person: every action on them names it.")
    psn_no = serializers.CharField()
    name = serializers.CharField()
    id_number_masked = serializers.CharField(help_text="110***********1234: never the full number.")
    gender = serializers.CharField()
    birth_date = serializers.DateField()
    insutype = serializers.CharField()
    insured_region = serializers.CharField()
    voucher_status = serializers.CharField(allow_null=True)
    expires_at = serializers.DateTimeField()


class LookupApi(StaffApi):
    class InputSerializer(ReasonInputSerializer):
        by = serializers.ChoiceField(choices=LookupBy.choices)
        id_number = serializers.CharField(required=False, default="", allow_blank=True, max_length=18)
        psn_no = serializers.CharField(required=False, default="", allow_blank=True, max_length=40)
        name = serializers.CharField(required=False, default="", allow_blank=True, max_length=50)
        birth_date = serializers.CharField(required=False, default="", allow_blank=True, max_length=10,
                                           help_text="YYYY-MM-DD (with name).")

    class OutputSerializer(serializers.Serializer):
        results = PersonSummaryOutputSerializer(many=True)

    @extend_schema(request=InputSerializer, responses={200: OutputSerializer, **errors({
        400: "STAFF_REASON_REQUIRED, STAFF_LOOKUP_INVALID", 401: AUTH_401, 403: FORBIDDEN,
        429: "STAFF_LOOKUP_LIMIT (per agent per hour; supervisors are alerted)"})})
    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        cases = services.person_lookup(member=self.member, by=v["by"], reason=v["reason"], id_number=v["id_number"],
                                       psn_no=v["psn_no"], name=v["name"],
                                       birth_date=_date(v["birth_date"], "birth_date"), ip=self.ip)
        return Response(self.OutputSerializer({"results": [selectors.person_summary(c) for c in cases]}).data)


class CaseVoucherOutputSerializer(serializers.Serializer):
    status = serializers.CharField()
    activated_at = serializers.DateTimeField(allow_null=True)
    pin_set = serializers.BooleanField()
    pin_locked = serializers.BooleanField()
    pin_locked_until = serializers.DateTimeField(allow_null=True)
    pin_failures = serializers.IntegerField()


class CaseAuthorizationOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    channel = serializers.CharField()
    status = serializers.CharField()
    created_at = serializers.DateTimeField()
    revoked_at = serializers.DateTimeField(allow_null=True)


class CaseFamilyOutputSerializer(serializers.Serializer):
    id = serializers.CharField(allow_null=True)
    direction = serializers.ChoiceField(choices=["relative", "binder"],
                                        help_text="relative: someone this person bound; binder: someone who bound them.")
    relation_name = serializers.CharField(allow_null=True)
    other_name_masked = serializers.CharField(allow_blank=True)
    other_id_number_masked = serializers.CharField(allow_blank=True)
    status = serializers.CharField(allow_null=True)
    mutual_aid_status = serializers.CharField(allow_null=True)


class CaseFilingOutputSerializer(serializers.Serializer):
    id = serializers.CharField()
    filing_no = serializers.CharField(allow_blank=True)
    type = serializers.CharField()
    status = serializers.CharField()
    dest_admdvs = serializers.CharField()
    begin_date = serializers.DateField(allow_null=True)
    end_date = serializers.DateField(allow_null=True)


class CasePaymentOutputSerializer(serializers.Serializer):
    id = serializers.CharField()
    institution = serializers.CharField()
    amount = serializers.CharField(help_text="Total bill, yuan with two decimals.")
    status = serializers.CharField()
    created_at = serializers.DateTimeField()


class TicketOutputSerializer(serializers.Serializer):
    id = serializers.CharField()
    status = serializers.CharField()
    created_by = serializers.CharField()
    team = serializers.CharField()
    reason = serializers.CharField()
    created_at = serializers.DateTimeField()
    expires_at = serializers.DateTimeField()
    closed_at = serializers.DateTimeField(allow_null=True)
    channel = serializers.CharField(allow_blank=True)


class RequestOutputSerializer(serializers.Serializer):
    id = serializers.CharField()
    kind = serializers.ChoiceField(choices=RequestKind.choices)
    status = serializers.ChoiceField(choices=RequestStatus.choices)
    psn_no = serializers.CharField()
    person_name = serializers.CharField()
    id_number_masked = serializers.CharField()
    team = serializers.CharField()
    requested_by = serializers.CharField()
    reason = serializers.CharField()
    id_checked = serializers.BooleanField()
    created_at = serializers.DateTimeField()
    decided_by = serializers.CharField(allow_null=True)
    decided_at = serializers.DateTimeField(allow_null=True)
    decision_reason = serializers.CharField(allow_blank=True)


class NoteOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    author = serializers.CharField()
    text = serializers.CharField()
    created_at = serializers.DateTimeField()


class CaseOtherTeamsOutputSerializer(serializers.Serializer):
    reset_tickets = serializers.IntegerField(help_text="Open reset tickets of other teams.")
    requests = serializers.IntegerField(help_text="Pending requests of other teams.")


class CaseOutputSerializer(PersonSummaryOutputSerializer):
    reason = serializers.CharField()
    phone_masked = serializers.CharField(allow_null=True)
    enrolment_status = serializers.CharField()
    voucher = CaseVoucherOutputSerializer(allow_null=True)
    authorizations = CaseAuthorizationOutputSerializer(many=True)
    family = CaseFamilyOutputSerializer(many=True)
    filings = CaseFilingOutputSerializer(many=True)
    payments = CasePaymentOutputSerializer(many=True)
    reset_tickets = TicketOutputSerializer(many=True, help_text="Your team's open tickets only.")
    requests = RequestOutputSerializer(many=True, help_text="Your team's pending requests only.")
    other_teams_open = CaseOtherTeamsOutputSerializer(
        help_text="Other teams' open tickets and pending requests: counts only, never their details.")
    notes = NoteOutputSerializer(many=True)


class CaseApi(StaffApi):
    @extend_schema(responses={200: CaseOutputSerializer, **errors({401: AUTH_401, 403: FORBIDDEN, 404: CASE_404})})
    def get(self, request, case_id: str):
        services.staff_require(self.member, "person_lookup")
        case = services.case_of(self.member, case_id)
        return Response(CaseOutputSerializer(selectors.case_view(case)).data)


class ResetTicketCreateApi(StaffApi):
    @extend_schema(request=ReasonInputSerializer, responses={201: TicketOutputSerializer, **errors({
        400: "STAFF_REASON_REQUIRED", 401: AUTH_401, 403: FORBIDDEN, 404: CASE_404,
        409: "RESET_TICKET_ALREADY_OPEN"})})
    def post(self, request, case_id: str):
        ticket = services.reset_ticket_start(member=self.member, case_id=case_id,
                                             reason=self.reason(), ip=self.ip)
        return Response(TicketOutputSerializer(selectors.ticket_view(ticket)).data, status=201)


class ResetTicketCancelApi(StaffApi):
    @extend_schema(request=ReasonInputSerializer, responses={200: TicketOutputSerializer, **errors({
        400: "STAFF_REASON_REQUIRED", 401: AUTH_401, 403: FORBIDDEN,
        404: "RESET_TICKET_NOT_FOUND (unknown or another team's)", 409: "RESET_TICKET_USED"})})
    def post(self, request, ticket_id: str):
        ticket = services.reset_ticket_withdraw(member=self.member, ticket_id=ticket_id,
                                                reason=self.reason(), ip=self.ip)
        return Response(TicketOutputSerializer(selectors.ticket_view(ticket)).data)


class VoucherStateOutputSerializer(serializers.Serializer):
    status = serializers.CharField()


class FreezeApi(StaffApi):
    @extend_schema(request=ReasonInputSerializer, responses={200: VoucherStateOutputSerializer, **errors({
        400: "STAFF_REASON_REQUIRED", 401: AUTH_401, 403: FORBIDDEN, 404: f"{CASE_404}, VOUCHER_NOT_FOUND",
        409: "VOUCHER_STATUS_CONFLICT (not active)"})})
    def post(self, request, case_id: str):
        voucher = services.voucher_freeze(member=self.member, case_id=case_id, reason=self.reason(),
                                          ip=self.ip)
        return Response({"status": voucher.status})


class RevokeApi(StaffApi):
    @extend_schema(request=ReasonInputSerializer, responses={200: CaseAuthorizationOutputSerializer, **errors({
        400: "STAFF_REASON_REQUIRED", 401: AUTH_401, 403: FORBIDDEN,
        404: f"{CASE_404}, AUTHORIZATION_NOT_FOUND (not this person's)"})})
    def post(self, request, case_id: str, authorization_id: int):
        a = services.channel_revoke(member=self.member, case_id=case_id, authorization_id=authorization_id,
                                    reason=self.reason(), ip=self.ip)
        return Response(CaseAuthorizationOutputSerializer(
            {"id": a.pk, "channel": a.channel, "status": a.status, "created_at": a.created_at,
             "revoked_at": a.revoked_at}).data)


class NoteCreateApi(StaffApi):
    class InputSerializer(serializers.Serializer):
        text = serializers.CharField(required=False, default="", allow_blank=True, max_length=4000)

    @extend_schema(request=InputSerializer, responses={201: NoteOutputSerializer, **errors({
        400: "STAFF_NOTE_INVALID", 401: AUTH_401, 403: FORBIDDEN, 404: CASE_404})})
    def post(self, request, case_id: str):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        note = services.case_annotate(member=self.member, case_id=case_id, text=data.validated_data["text"],
                                      ip=self.ip)
        return Response(NoteOutputSerializer({"id": note.pk, "author": self.member.user.username, "text": note.text,
                                              "created_at": note.created_at}).data, status=201)


class RequestCreateApi(StaffApi):
    class InputSerializer(ReasonInputSerializer):
        kind = serializers.ChoiceField(choices=RequestKind.choices)
        id_checked = serializers.BooleanField(required=False, default=False,
                                              help_text="unlock: the ID document was checked in person at the counter.")

    @extend_schema(request=InputSerializer, responses={201: RequestOutputSerializer, **errors({
        400: "STAFF_REASON_REQUIRED, STAFF_ID_CHECK_REQUIRED", 401: AUTH_401, 403: FORBIDDEN,
        404: f"{CASE_404}, VOUCHER_NOT_FOUND", 409: "STAFF_REQUEST_PENDING, VOUCHER_STATUS_CONFLICT"})})
    def post(self, request, case_id: str):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        created = services.request_create(member=self.member, case_id=case_id, kind=v["kind"], reason=v["reason"],
                                          id_checked=v["id_checked"], ip=self.ip)
        return Response(RequestOutputSerializer(selectors.request_view(created)).data, status=201)


class RequestListApi(StaffApi):
    @extend_schema(parameters=[OpenApiParameter("status", str, enum=[s.value for s in RequestStatus])],
                   responses={200: RequestOutputSerializer(many=True), **errors({401: AUTH_401, 403: FORBIDDEN})})
    def get(self, request):
        services.staff_require(self.member, "request_create")
        status = request.query_params.get("status") or None
        if status is not None and status not in RequestStatus.values:
            raise ApplicationError("VALIDATION_ERROR", "status 取值不正确", detail={"fields": {"status": ["取值不正确"]}})
        rows = selectors.request_list(self.member, status=status)
        return Response(RequestOutputSerializer([selectors.request_view(r) for r in rows], many=True).data)


class RequestDecideApi(StaffApi):
    approve = True

    @extend_schema(request=ReasonInputSerializer, responses={200: RequestOutputSerializer, **errors({
        400: "STAFF_REASON_REQUIRED", 401: AUTH_401,
        403: f"{FORBIDDEN}, STAFF_SELF_APPROVAL (four eyes: not your own request)",
        404: "REQUEST_NOT_FOUND (unknown or another team's), VOUCHER_NOT_FOUND",
        409: "STAFF_REQUEST_DECIDED, VOUCHER_STATUS_CONFLICT"})})
    def post(self, request, request_id: str):
        decided = services.request_decide(member=self.member, request_id=request_id, approve=self.approve,
                                          reason=self.reason(), ip=self.ip)
        return Response(RequestOutputSerializer(selectors.request_view(decided)).data)


class RequestApproveApi(RequestDecideApi):
    approve = True


class RequestDenyApi(RequestDecideApi):
    approve = False


class RequestWithdrawApi(StaffApi):
    @extend_schema(request=ReasonInputSerializer, responses={200: RequestOutputSerializer, **errors({
        400: "STAFF_REASON_REQUIRED", 401: AUTH_401, 403: FORBIDDEN,
        404: "REQUEST_NOT_FOUND (not your own request)", 409: "STAFF_REQUEST_DECIDED"})})
    def post(self, request, request_id: str):
        withdrawn = services.request_withdraw(member=self.member, request_id=request_id,
                                              reason=self.reason(), ip=self.ip)
        return Response(RequestOutputSerializer(selectors.request_view(withdrawn)).data)


class AlertListApi(StaffApi):
    class OutputSerializer(serializers.Serializer):
        id = serializers.IntegerField()
        kind = serializers.ChoiceField(choices=AlertKind.choices)
        subject = serializers.CharField()
        detail = serializers.DictField()
        created_at = serializers.DateTimeField()

    @extend_schema(responses={200: OutputSerializer(many=True), **errors({401: AUTH_401, 403: FORBIDDEN})})
    def get(self, request):
        services.staff_require(self.member, "team_queue_view")
        rows = selectors.alert_list(self.member)
        return Response(self.OutputSerializer([{"id": a.pk, "kind": a.kind, "subject": a.subject, "detail": a.detail,
                                                "created_at": a.created_at} for a in rows], many=True).data)


# --- the audit trail (auditors) ---------------------------------------------------------

AUDIT_FILTERS = [
    OpenApiParameter("psn_no", str, description="The person's psn_no."),
    OpenApiParameter("actor", str, description="Exact actor, e.g. staff:agent1."),
    OpenApiParameter("action", str, description="Exact action, or a prefix ending in '.' (staff.)."),
    OpenApiParameter("date_from", OpenApiTypes.DATE, description="Local date, inclusive."),
    OpenApiParameter("date_to", OpenApiTypes.DATE, description="Local date, inclusive."),
]


def _audit_filters(request) -> dict:
    params = request.query_params
    filters = {}
    for key in ("psn_no", "actor", "action"):
        value = params.get(key, "")
        if len(value) > 100 or "\x00" in value:
            raise ApplicationError("VALIDATION_ERROR", f"{key} 过长或含非法字符", detail={"fields": {key: ["取值不正确"]}})
        filters[key] = value
    filters["date_from"] = _date(params.get("date_from"), "date_from")
    filters["date_to"] = _date(params.get("date_to"), "date_to")
    return filters


class AuditEventOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    seq = serializers.IntegerField(allow_null=True, help_text="Place in the hash chain (null until sealed).")
    occurred_at = serializers.DateTimeField()
    action = serializers.CharField()
    outcome = serializers.CharField()
    actor = serializers.CharField()
    psn_no = serializers.CharField(allow_null=True)
    channel = serializers.CharField(allow_blank=True)
    ip = serializers.CharField(allow_null=True)
    code = serializers.CharField(allow_blank=True)
    detail = serializers.DictField()
    chain_hash = serializers.CharField(allow_blank=True)


class AuditListApi(StaffApi):
    class OutputSerializer(serializers.Serializer):
        count = serializers.IntegerField()
        page = serializers.IntegerField()
        results = AuditEventOutputSerializer(many=True)

    PAGE_SIZE = 50

    @extend_schema(parameters=[*AUDIT_FILTERS, OpenApiParameter("page", int, description="1-based.")],
                   responses={200: OutputSerializer, **errors({401: AUTH_401, 403: FORBIDDEN})})
    def get(self, request):
        services.staff_require(self.member, "audit_read")
        events = selectors.audit_events(_audit_filters(request))
        raw_page = request.query_params.get("page", "1")
        if not (raw_page.isascii() and raw_page.isdigit() and 1 <= len(raw_page) <= 6 and int(raw_page) >= 1):
            raise ApplicationError("VALIDATION_ERROR", "page 须为正整数", detail={"fields": {"page": ["须为正整数"]}})
        page = int(raw_page)
        start = (page - 1) * self.PAGE_SIZE
        rows = [_audit_shown(selectors.audit_row(e)) for e in events[start:start + self.PAGE_SIZE]]
        return Response(self.OutputSerializer({"count": events.count(), "page": page, "results": rows}).data)


class AuditCheckpointOutputSerializer(serializers.Serializer):
    seq = serializers.IntegerField(help_text="How many events the chain had (the head's seq).")
    chain_hash = serializers.CharField(help_text="The head's chain_hash at that time.")
    created_at = serializers.DateTimeField()
    key_id = serializers.CharField(help_text="Names the signing key (AUDIT_CHECKPOINT_KEY) without revealing it.")
    signature_valid = serializers.BooleanField()
    chain_consistent = serializers.BooleanField(
        help_text="The chain in the database now has at least seq events and the event at seq this chain_hash.")


class AuditCheckpointApi(StaffApi):
    """The last checkpoint of the audit chain in the append-only store outside the database (issue #20)."""

    class OutputSerializer(serializers.Serializer):
        checkpoint = AuditCheckpointOutputSerializer(allow_null=True)
        problem = serializers.CharField(allow_blank=True, help_text="What is wrong, in Chinese; blank when nothing.")
        interval_seconds = serializers.IntegerField(help_text="A checkpoint is taken this often when the chain grew.")

    @extend_schema(responses={200: OutputSerializer, **errors({401: AUTH_401, 403: FORBIDDEN})})
    def get(self, request):
        services.staff_require(self.member, "audit_read")
        return Response(self.OutputSerializer(selectors.audit_checkpoint()).data)


CSV_COLUMNS = ["id", "seq", "occurred_at", "action", "outcome", "actor", "psn_no", "channel", "ip", "code", "detail",
               "chain_hash"]


def _audit_shown(row: dict) -> dict:
    """The free text of an audit row (actor, detail) as shown and exported: ID numbers masked again,
    for events recorded before the masking knew every spelling (events are append-only)."""
    return {**row, "actor": mask_in_text(row["actor"]), "detail": mask_in_value(row["detail"])}


def _csv_cell(value) -> str:
    """Spreadsheet-safe: a cell starting with = + - @ is prefixed with ' (CSV injection)."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


class AuditExportApi(StaffApi):
    """The filtered trail as CSV (UTF-8 with BOM for spreadsheet programs); the export itself is audited."""

    @extend_schema(parameters=AUDIT_FILTERS, responses={(200, "text/csv"): OpenApiTypes.STR,
                                                        **errors({401: AUTH_401, 403: FORBIDDEN})})
    def get(self, request):
        services.staff_require(self.member, "audit_export")
        filters = _audit_filters(request)
        events = selectors.audit_events(filters)[:EXPORT_MAX_ROWS]
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(CSV_COLUMNS)
        count = 0
        for event in events:
            row = _audit_shown(selectors.audit_row(event))
            row["detail"] = _json(row["detail"])
            row["occurred_at"] = row["occurred_at"].isoformat()
            writer.writerow([_csv_cell(row[c]) for c in CSV_COLUMNS])
            count += 1
        services.audit_export_record(member=self.member, filters=filters, rows=count, ip=self.ip)
        response = HttpResponse("\ufeff" + out.getvalue(), content_type="text/csv; charset=utf-8")
        day = dt.date.today().isoformat()
        response["Content-Disposition"] = f'attachment; filename="audit-{day}.csv"'
        response["Cache-Control"] = "no-store"
        return response


def _json(value) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True)
