from django.urls import path

from demo.apis import DemoCatalogueApi, DemoPharmacyListApi, DemoTerminalApi

urlpatterns = [
    path("terminal", DemoTerminalApi.as_view(), name="demo-terminal"),
    path("pharmacies", DemoPharmacyListApi.as_view(), name="demo-pharmacies"),
    path("catalogue", DemoCatalogueApi.as_view(), name="demo-catalogue"),
]
