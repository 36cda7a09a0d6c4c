"""Demo-only helpers for the H5 POS page (pages-staff/pos): a demo terminal's
credentials (the 使用演示机构 button) and the demo catalogue (terminals have
no catalogue API; real pharmacy software has its own item master).

Both answer 404 when ``settings.YIBAO_ENV == "production"``: a real
institution's secret is issued once by the operator and never served.
Mounted at ``/api/demo/`` (demo/urls.py, config/urls.py) only where the demo
app is installed (never with YIBAO_ENV=production).
"""

from __future__ import annotations

from django.conf import settings
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from common import demodata, fields
from common.errors import ApplicationError
from common.money import fen_to_yuan
from common.schema import errors
from demo.services import institution_demo_pharmacies, institution_demo_terminal

NOT_IN_PRODUCTION = errors({404: "NOT_FOUND (production: the demo endpoints do not exist)"})


def _refuse_in_production() -> None:
    if settings.YIBAO_ENV == "production":
        raise ApplicationError("NOT_FOUND", "未找到", status=404)


def _seed() -> int:
    return getattr(settings, "DEMO_SEED", demodata.DEFAULT_SEED)


class DemoTerminalApi(APIView):
    """A designated demo pharmacy (in a region that has opened the service),
    registered with the gateway if it is not yet, and its demo secret."""

    authentication_classes: list = []
    permission_classes = [AllowAny]

    class OutputSerializer(serializers.Serializer):
        fixmedins_code = serializers.CharField()
        fixmedins_name = serializers.CharField()
        region = serializers.CharField()
        secret = serializers.CharField()

    @extend_schema(
        parameters=[OpenApiParameter("index", int, description="Which demo pharmacy (any other value: the first)."),
                    OpenApiParameter("fixmedins_code", str, description="A demo pharmacy by code (GET /api/demo/"
                                     "pharmacies); wins over index.")],
        responses={200: OutputSerializer, **NOT_IN_PRODUCTION,
                   **errors({404: "DEMO_INSTITUTION_UNKNOWN (fixmedins_code is not a demo pharmacy)"})},
    )
    def get(self, request):
        _refuse_in_production()
        raw = request.query_params.get("index", "0")
        index = int(raw) if fields.is_ascii_digits(raw, max_length=6) else 0
        code = request.query_params.get("fixmedins_code") or None  # empty: the default
        inst = institution_demo_terminal(seed=_seed(), index=index, fixmedins_code=code)
        if inst is None:
            raise ApplicationError("DEMO_INSTITUTION_UNKNOWN", "没有这个演示机构", status=404)
        return Response(self.OutputSerializer({"fixmedins_code": inst.fixmedins_code, "fixmedins_name": inst.name,
                                               "region": inst.region, "secret": inst.secret}).data)


class DemoPharmacyListApi(APIView):
    """The demo pharmacies the POS page may sign in as (no secrets), by city:
    a person pays locally at a pharmacy of their own province."""

    authentication_classes: list = []
    permission_classes = [AllowAny]

    class OutputSerializer(serializers.Serializer):
        fixmedins_code = serializers.CharField()
        fixmedins_name = serializers.CharField()
        region = serializers.CharField()
        region_name = serializers.CharField()

    @extend_schema(responses={200: OutputSerializer(many=True), **NOT_IN_PRODUCTION})
    def get(self, request):
        _refuse_in_production()
        names = {r.admdvs: f"{r.province}{r.name}" if r.province != r.name else r.name
                 for r in demodata.generate(_seed()).regions}
        rows = [{"fixmedins_code": i.fixmedins_code, "fixmedins_name": i.name, "region": i.region,
                 "region_name": names.get(i.region, i.region)} for i in institution_demo_pharmacies(seed=_seed())]
        return Response(self.OutputSerializer(rows, many=True).data)


class DemoCatalogueApi(APIView):
    """The demo catalogue (common.demodata), for the POS page's bill editor."""

    authentication_classes: list = []
    permission_classes = [AllowAny]

    class OutputSerializer(serializers.Serializer):
        med_list_codg = serializers.CharField()
        name = serializers.CharField()
        kind = serializers.CharField()
        list_class = serializers.CharField(help_text="A 甲类 / B 乙类 / C 丙类")
        price_cap = serializers.CharField(allow_null=True, help_text="Yuan as a decimal string; null: no cap.")
        unit = serializers.CharField()
        spec = serializers.CharField()

    @extend_schema(responses={200: OutputSerializer(many=True), **NOT_IN_PRODUCTION})
    def get(self, request):
        _refuse_in_production()
        items = [
            {"med_list_codg": c.med_list_codg, "name": c.name, "kind": c.kind, "list_class": c.list_class,
             "price_cap": None if c.price_cap_fen is None else fen_to_yuan(c.price_cap_fen), "unit": c.unit,
             "spec": c.spec}
            for c in demodata.generate(_seed()).catalogue
        ]
        return Response(self.OutputSerializer(items, many=True).data)
