"""The person's filing APIs (异地就医备案) under /api/filings. Thin: parse,
call a service or selector, render through an OutputSerializer; errors in
the one shape (docs/subsystems/errors.md). Rules: docs/subsystems/filing.md.

Ids are filings' public ids; an id that is not the caller's is
FILING_NOT_FOUND (404), the same answer as an id that does not exist."""

from __future__ import annotations

import datetime as dt
import re

from django.conf import settings
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.services.activation import login_actor
from common.errors import ApplicationError
from common.http import client_ip
from common.schema import errors

from . import selectors
from .enums import CancelReason, FilingBasis, FilingKind, FilingSource, FilingStatus, FilingType, ProofDocType
from .services.filings import FilingInput, Insured, filing_cancel, filing_change, filing_create, request_digest
from .regions import region_name
from .services.rules import filing_rules_get

NOT_ACTIVATED = {403: "NOT_ACTIVATED (activate your voucher first)"}
NOT_FOUND = "FILING_NOT_FOUND (not yours, or no such filing)"
RULES_DOWN = {503: "FILING_RULES_UNAVAILABLE (the insured region's rules cannot be read now; retry)"}
DEST_REFUSALS = "FILING_DEST_INVALID, FILING_DEST_SAME_PROVINCE"
COMMITMENT_TEXT = ("本人承诺：所填备案信息真实、准确；本人确在备案就医地居住、工作或临时外出就医。"
                   "如有虚假，愿承担由此产生的医保基金损失及相应法律责任，并接受参保地医保部门核查；"
                   "核查不实的，撤销备案并追回已结算的医保基金。")
ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


class StrictDateField(serializers.DateField):
    """yyyy-MM-dd in ASCII digits only (no week dates, no other digits)."""

    def to_internal_value(self, value):
        if not isinstance(value, str) or not ISO_DATE.fullmatch(value):
            self.fail("invalid", format="YYYY-MM-DD")
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            self.fail("invalid", format="YYYY-MM-DD")


class StrictBooleanField(serializers.BooleanField):
    """JSON true / false only."""

    def to_internal_value(self, data):
        if data is True or data is False:
            return data
        self.fail("invalid", input=data)


class AdmdvsField(serializers.CharField):
    """A 6-digit admdvs as a JSON string (a number is refused, never converted)."""

    def __init__(self, **kwargs):
        super().__init__(min_length=6, max_length=6, trim_whitespace=False, **kwargs)

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


def _person(request):
    person = request.user.person
    if person is None:
        raise ApplicationError("NOT_ACTIVATED", "请先激活医保电子凭证", status=403)
    return person


def _insured(person) -> Insured:
    return Insured(psn_no=person.psn_no, insutype=person.insutype, insured_region=person.insured_region)


def _validated(serializer_class, request):
    data = serializer_class(data=request.data)
    data.is_valid(raise_exception=True)
    return data.validated_data


def _rules_or_none(filing):
    try:
        return filing_rules_get(insured_region=filing.insured_region, insutype=filing.insutype)
    except ApplicationError:
        return None  # the view still renders; cancel_rule falls back to the defaults


# --- output shapes ------------------------------------------------------------------------------

class ReferralOutputSerializer(serializers.Serializer):
    reflin_medins_no = serializers.CharField(help_text="The referring institution's fixmedins_code.")
    reflin_medins_name = serializers.CharField()
    diag_code = serializers.CharField(help_text="ICD-10 (national clinical edition), e.g. J18.900.")
    diag_name = serializers.CharField()
    dise_cond_dscr = serializers.CharField(allow_blank=True)


class DestinationOutputSerializer(serializers.Serializer):
    dest_admdvs = serializers.CharField()
    dest_name = serializers.CharField()
    since = serializers.DateField(help_text="First treatment date it covers.")
    until = serializers.DateField(allow_null=True, help_text="Last treatment date it covers (null: still in force).")


class FilingOutputSerializer(serializers.Serializer):
    """One filing as the person sees it (component ``Filing``)."""

    id = serializers.CharField(help_text="The filing's public id.")
    filing_no = serializers.CharField(help_text="The national filing number (trt_dcla_detl_sn).")
    type = serializers.ChoiceField(choices=FilingType.choices)
    type_name = serializers.CharField()
    kind = serializers.ChoiceField(choices=FilingKind.choices, help_text="What decides the ratio adjustment.")
    status = serializers.ChoiceField(choices=FilingStatus.choices)
    status_name = serializers.CharField()
    basis = serializers.ChoiceField(choices=FilingBasis.choices)
    basis_name = serializers.CharField()
    source = serializers.ChoiceField(choices=FilingSource.choices)
    insured_region = serializers.CharField()
    dest_admdvs = serializers.CharField(help_text="6-digit admdvs: a city, or a whole province (xx0000).")
    dest_name = serializers.CharField()
    begin_date = serializers.DateField()
    end_date = serializers.DateField(allow_null=True, help_text="null: long-term, valid until cancelled.")
    dest_since = serializers.DateField(help_text="From when the current destination covers bills (begin, or the last change).")
    destinations = DestinationOutputSerializer(
        many=True, help_text="The destinations over time, oldest first: a bill is covered by the one in force on its date.")
    late = serializers.BooleanField(help_text="补办: filed after treatment began.")
    institutions = serializers.ListField(child=serializers.CharField(), help_text="Designated institutions (referral).")
    referral = ReferralOutputSerializer(allow_null=True)
    created_at = serializers.DateTimeField()
    cancelled_at = serializers.DateTimeField(allow_null=True)
    can_cancel = serializers.BooleanField(help_text="Active: it may be cancelled (see reason_required).")
    reason_required = serializers.BooleanField(
        help_text="Cancel/change now needs a reason the region accepts (long-term, before its minimum period).")
    can_change = serializers.BooleanField()
    change_free_from = serializers.DateField(
        allow_null=True, help_text="Long-term: from this date cancel/change needs no reason (null: any time, or unknown).")
    expiring = serializers.BooleanField(help_text="A temporary filing within the reminder window of its end date.")
    cancel_rule = serializers.CharField(help_text="The cancel/change rule in plain Chinese.")


# --- list and create ---------------------------------------------------------------------------

class FilingListCreateApi(APIView):
    class InputSerializer(serializers.Serializer):
        class ProofInputSerializer(serializers.Serializer):
            doc_type = serializers.ChoiceField(choices=ProofDocType.choices)
            doc_no = serializers.CharField(max_length=40, help_text="The document's number (4-40 letters or digits).")

        class ReferralInputSerializer(serializers.Serializer):
            reflin_medins_no = serializers.CharField(max_length=30)
            reflin_medins_name = serializers.CharField(max_length=100)
            diag_code = serializers.CharField(max_length=20, help_text="ICD-10, e.g. J18.900.")
            diag_name = serializers.CharField(max_length=100)
            dise_cond_dscr = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
            institutions = serializers.ListField(child=serializers.CharField(max_length=30), max_length=5,
                                                 required=False, default=list,
                                                 help_text="Designated receiving institutions (fixmedins_code).")

        type = serializers.ChoiceField(choices=FilingType.choices)
        dest_admdvs = AdmdvsField(help_text="GET /api/filings/regions: a city or xx0000.")
        begin_date = StrictDateField(help_text="Up to FILING_LATE_DAYS in the past (补办).")
        end_date = StrictDateField(required=False, allow_null=True, default=None,
                                   help_text="Temporary only; default and maximum: the region's validity.")
        basis = serializers.ChoiceField(choices=[FilingBasis.COMMITMENT, FilingBasis.PROOF], required=False,
                                        help_text="Not needed for emergency (counts as filed).")
        commitment_accepted = StrictBooleanField(required=False, default=False)
        proof = ProofInputSerializer(required=False, allow_null=True, default=None)
        referral = ReferralInputSerializer(required=False, allow_null=True, default=None)

    @extend_schema(operation_id="filings_list", responses={200: FilingOutputSerializer(many=True),
                                                           **errors(NOT_ACTIVATED)})
    def get(self, request):
        person = _person(request)
        filings = selectors.filing_list(person.psn_no)
        rules = _rules_or_none(filings[0]) if filings else None
        return Response(FilingOutputSerializer([selectors.filing_view(f, rules) for f in filings], many=True).data)

    @extend_schema(
        operation_id="filings_create", request=InputSerializer,
        parameters=[OpenApiParameter("Idempotency-Key", str, OpenApiParameter.HEADER,
                                     description="A retry with the same key and body returns the first filing.")],
        responses={201: FilingOutputSerializer, **errors({
            400: f"VALIDATION_ERROR, FILING_TYPE_INVALID, {DEST_REFUSALS}, FILING_DATES_INVALID, FILING_LATE_TOO_OLD, "
                 "FILING_BASIS_REQUIRED, FILING_COMMITMENT_REQUIRED, FILING_PROOF_REQUIRED, FILING_REFERRAL_REQUIRED, "
                 "FILING_REFERRAL_NOT_ALLOWED, FILING_DIAGNOSIS_INVALID, FILING_INSTITUTION_INVALID",
            **NOT_ACTIVATED,
            409: "FILING_REGION_NOT_OPEN, FILING_LONG_TERM_EXISTS, IDEMPOTENCY_KEY_REUSED, IDEMPOTENCY_IN_PROGRESS, "
                 "FILING_RETRY",
            **RULES_DOWN})},
    )
    def post(self, request):
        person = _person(request)
        data = _validated(self.InputSerializer, request)
        key = request.headers.get("Idempotency-Key", "")
        if len(key) > 64 or not key.isascii() or not key.isprintable():
            raise ApplicationError("VALIDATION_ERROR", "Idempotency-Key 须为不超过64位的可打印ASCII字符")
        referral = data.get("referral")
        filing_input = FilingInput(
            type=data["type"], dest_admdvs=data["dest_admdvs"], begin_date=data["begin_date"],
            end_date=data.get("end_date"), basis=data.get("basis", ""),
            commitment_accepted=data.get("commitment_accepted", False), proof=data.get("proof"),
            referral=None if referral is None else {k: v for k, v in referral.items() if k != "institutions"},
            institutions=[] if referral is None else list(referral.get("institutions") or []))
        filing, _ = filing_create(insured=_insured(person), data=filing_input, actor=login_actor(request.user.login),
                                  ip=client_ip(request), idempotency_key=key,
                                  request_hash=request_digest(dict(request.data)) if key else "")
        view = selectors.filing_view(filing, _rules_or_none(filing))
        return Response(FilingOutputSerializer(view).data, status=status.HTTP_201_CREATED)


# --- one filing ----------------------------------------------------------------------------------

class FilingDetailApi(APIView):
    @extend_schema(operation_id="filings_get", responses={200: FilingOutputSerializer,
                                                          **errors({**NOT_ACTIVATED, 404: NOT_FOUND})})
    def get(self, request, filing_id: str):
        filing = selectors.filing_get(_person(request).psn_no, filing_id)
        return Response(FilingOutputSerializer(selectors.filing_view(filing, _rules_or_none(filing))).data)


class FilingCancelApi(APIView):
    class InputSerializer(serializers.Serializer):
        reason = serializers.ChoiceField(choices=CancelReason.choices, required=False, default="",
                                         help_text="Before a long-term filing's minimum period only "
                                                   "FILING_EARLY_REASONS count (see cancel_rule).")

    @extend_schema(operation_id="filings_cancel", request=InputSerializer, responses={
        200: FilingOutputSerializer,
        **errors({**NOT_ACTIVATED, 404: NOT_FOUND, 409: "FILING_NOT_ACTIVE, FILING_TOO_EARLY (detail.earliest)",
                  **RULES_DOWN})})
    def post(self, request, filing_id: str):
        filing = selectors.filing_get(_person(request).psn_no, filing_id)
        data = _validated(self.InputSerializer, request)
        filing = filing_cancel(filing=filing, actor=login_actor(request.user.login), reason=data["reason"],
                               ip=client_ip(request))
        return Response(FilingOutputSerializer(selectors.filing_view(filing, _rules_or_none(filing))).data)


class FilingChangeApi(APIView):
    class InputSerializer(serializers.Serializer):
        dest_admdvs = AdmdvsField()
        reason = serializers.ChoiceField(choices=CancelReason.choices, required=False, default="")

    @extend_schema(operation_id="filings_change", request=InputSerializer, responses={
        200: FilingOutputSerializer,
        **errors({400: f"VALIDATION_ERROR, {DEST_REFUSALS}, FILING_DEST_UNCHANGED", **NOT_ACTIVATED, 404: NOT_FOUND,
                  409: "FILING_NOT_ACTIVE, FILING_TOO_EARLY (detail.earliest), FILING_CHANGE_NOT_ALLOWED, "
                       "FILING_REGION_NOT_OPEN", **RULES_DOWN})})
    def post(self, request, filing_id: str):
        filing = selectors.filing_get(_person(request).psn_no, filing_id)
        data = _validated(self.InputSerializer, request)
        filing = filing_change(filing=filing, dest_admdvs=data["dest_admdvs"], reason=data["reason"],
                               actor=login_actor(request.user.login), ip=client_ip(request))
        return Response(FilingOutputSerializer(selectors.filing_view(filing, _rules_or_none(filing))).data)


# --- what the pages need -------------------------------------------------------------------------

class FilingTypesApi(APIView):
    class OutputSerializer(serializers.Serializer):
        type = serializers.ChoiceField(choices=FilingType.choices)
        name = serializers.CharField()
        kind = serializers.ChoiceField(choices=FilingKind.choices)
        long_term = serializers.BooleanField()
        help = serializers.CharField(help_text="Plain-language help for the type picker.")

    @extend_schema(operation_id="filings_types", responses={200: OutputSerializer(many=True)})
    def get(self, request):
        return Response(self.OutputSerializer(selectors.filing_types(), many=True).data)


class RegionCityOutputSerializer(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()


class RegionProvinceOutputSerializer(serializers.Serializer):
    code = serializers.CharField(help_text="Province admdvs (xx0000): choose it to file for the whole province.")
    name = serializers.CharField()
    cities = RegionCityOutputSerializer(many=True)


class FilingRegionsApi(APIView):
    class OutputSerializer(serializers.Serializer):
        provinces = RegionProvinceOutputSerializer(many=True)

    @extend_schema(operation_id="filings_regions", responses={200: OutputSerializer})
    def get(self, request):
        return Response(self.OutputSerializer({"provinces": selectors.filing_regions()}).data)


class ReasonOutputSerializer(serializers.Serializer):
    code = serializers.ChoiceField(choices=CancelReason.choices)
    name = serializers.CharField()
    accepted_early = serializers.BooleanField(help_text="Counts before a long-term filing's minimum period.")


class FilingRulesApi(APIView):
    """The signed-in person's insured region's filing rules, for the form."""

    class OutputSerializer(serializers.Serializer):
        insured_region = serializers.CharField()
        insured_region_name = serializers.CharField()
        open = serializers.BooleanField(help_text="false: the region has not opened cross-province settlement.")
        long_term_min_months = serializers.IntegerField()
        temporary_valid_months = serializers.IntegerField()
        late_filing_days = serializers.IntegerField(help_text="补办: begin_date may be this many days in the past.")
        max_days_ahead = serializers.IntegerField(help_text="begin_date may be at most this many days ahead.")
        reminder_days = serializers.IntegerField()
        unfiled = serializers.ChoiceField(choices=["refuse", "lowest_ratio"])
        same_province = serializers.ChoiceField(choices=["local", "filed"])
        adjust_permille = serializers.DictField(child=serializers.IntegerField(),
                                                help_text="Ratio adjustment per kind, permille points (≤ 0).")
        reasons = ReasonOutputSerializer(many=True, help_text="Reasons for cancel/change (field reason).")
        commitment_text = serializers.CharField(help_text="The commitment statement (承诺书) to show and accept.")
        emergency_note = serializers.CharField()

    @extend_schema(operation_id="filings_rules", responses={200: OutputSerializer,
                                                            **errors({**NOT_ACTIVATED, **RULES_DOWN})})
    def get(self, request):
        person = _person(request)
        rules = filing_rules_get(insured_region=person.insured_region, insutype=person.insutype)
        return Response(self.OutputSerializer({
            "insured_region": person.insured_region,
            "insured_region_name": region_name(person.insured_region) or person.insured_region, "open": rules.open,
            "long_term_min_months": rules.long_term_min_months,
            "temporary_valid_months": rules.temporary_valid_months, "late_filing_days": settings.FILING_LATE_DAYS,
            "max_days_ahead": settings.FILING_MAX_DAYS_AHEAD,
            "reminder_days": settings.FILING_REMINDER_DAYS, "unfiled": rules.unfiled,
            "same_province": rules.same_province, "adjust_permille": rules.adjust,
            "reasons": [{"code": r.value, "name": r.label, "accepted_early": r.value in settings.FILING_EARLY_REASONS}
                        for r in CancelReason], "commitment_text": COMMITMENT_TEXT,
            "emergency_note": "急诊抢救视同已备案：在外省急诊抢救的费用可直接结算，无需事先备案。"}).data)


class FilingNoticesApi(APIView):
    class OutputSerializer(serializers.Serializer):
        kind = serializers.ChoiceField(choices=["filing.expiring"])
        title = serializers.CharField()
        message = serializers.CharField()
        filing_id = serializers.CharField()
        filing_no = serializers.CharField()
        end_date = serializers.DateField()
        at = serializers.DateTimeField()

    @extend_schema(operation_id="filings_notices", responses={200: OutputSerializer(many=True), **errors(NOT_ACTIVATED)})
    def get(self, request):
        return Response(self.OutputSerializer(selectors.filing_notices(_person(request).psn_no), many=True).data)
