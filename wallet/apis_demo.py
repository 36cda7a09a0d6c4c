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
from drf_spectacular.utils import extend_schema
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from common import demodata
from common.errors import ApplicationError


def _refuse_in_production() -> None:
    if settings.YIBAO_ENV == "production":
        raise ApplicationError("NOT_FOUND", "未找到", status=404)


def _data() -> demodata.DemoData:
    return demodata.generate(getattr(settings, "DEMO_SEED", demodata.DEFAULT_SEED))


class DemoTerminalApi(APIView):
    """A designated demo pharmacy (in a region that has opened the service),
    registered with the gateway if it is not yet, and its demo secret."""

    authentication_classes: list = []
    permission_classes = [AllowAny]

    @extend_schema(responses={200: dict})
    def get(self, request):
        _refuse_in_production()
        from wallet.services.institutions import institution_register

        data = _data()
        open_regions = {r.admdvs for r in data.regions if r.evoucher_open}
        pharmacies = [i for i in data.institutions if i.kind == "pharmacy" and i.designated]
        preferred = [i for i in pharmacies if i.region in open_regions] or pharmacies
        try:
            index = int(request.query_params.get("index", "0"))
        except ValueError:
            index = 0
        inst = preferred[index % len(preferred)]
        institution_register(fixmedins_code=inst.fixmedins_code, name=inst.name, kind=inst.kind, level=inst.level,
                             region=inst.region, designated=inst.designated, secret=inst.secret, actor="demo")
        return Response({"fixmedins_code": inst.fixmedins_code, "fixmedins_name": inst.name,
                         "region": inst.region, "secret": inst.secret})


class DemoCatalogueApi(APIView):
    """The demo catalogue (common.demodata), for the POS page's bill editor."""

    authentication_classes: list = []
    permission_classes = [AllowAny]

    @extend_schema(responses={200: dict})
    def get(self, request):
        _refuse_in_production()
        from common.money import fen_to_yuan

        return Response([
            {"med_list_codg": c.med_list_codg, "name": c.name, "kind": c.kind, "list_class": c.list_class,
             "price_cap": None if c.price_cap_fen is None else fen_to_yuan(c.price_cap_fen), "unit": c.unit,
             "spec": c.spec}
            for c in _data().catalogue
        ])


urlpatterns = [
    path("terminal", DemoTerminalApi.as_view(), name="demo-terminal"),
    path("catalogue", DemoCatalogueApi.as_view(), name="demo-catalogue"),
]
