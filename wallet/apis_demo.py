"""Demo-only helpers for the H5 POS page (pages-staff/pos): a demo terminal's
credentials (the 使用演示机构 button) and the demo catalogue (terminals have
no catalogue API; real pharmacy software has its own item master).

Both answer 404 when ``settings.YIBAO_ENV == "production"``: a real
institution's secret is issued once by the operator and never served.
Mounted at ``/api/demo/`` (config/urls.py).
"""

from __future__ import annotations

from django.conf import settings
from django.urls import path
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from common import demodata, fields
from common.errors import ApplicationError
from common.money import fen_to_yuan
from common.schema import errors
from .services.institutions import institution_demo_terminal

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
        parameters=[OpenApiParameter("index", int, description="Which demo pharmacy (any other value: the first).")],
        responses={200: OutputSerializer, **NOT_IN_PRODUCTION},
    )
    def get(self, request):
        _refuse_in_production()
        raw = request.query_params.get("index", "0")
        index = int(raw) if fields.is_ascii_digits(raw, max_length=6) else 0
        inst = institution_demo_terminal(seed=_seed(), index=index)
        return Response(self.OutputSerializer({"fixmedins_code": inst.fixmedins_code, "fixmedins_name": inst.name,
                                               "region": inst.region, "secret": inst.secret}).data)


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


urlpatterns = [
    path("terminal", DemoTerminalApi.as_view(), name="demo-terminal"),
    path("catalogue", DemoCatalogueApi.as_view(), name="demo-catalogue"),
]
