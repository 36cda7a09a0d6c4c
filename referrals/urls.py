from django.urls import path

from . import apis

urlpatterns = [
    path("filings", apis.FilingListCreateApi.as_view(), name="filings"),
    path("filings/types", apis.FilingTypesApi.as_view(), name="filing-types"),
    path("filings/regions", apis.FilingRegionsApi.as_view(), name="filing-regions"),
    path("filings/rules", apis.FilingRulesApi.as_view(), name="filing-rules"),
    path("filings/notices", apis.FilingNoticesApi.as_view(), name="filing-notices"),
    path("filings/<str:filing_id>", apis.FilingDetailApi.as_view(), name="filing-detail"),
    path("filings/<str:filing_id>/cancel", apis.FilingCancelApi.as_view(), name="filing-cancel"),
    path("filings/<str:filing_id>/change", apis.FilingChangeApi.as_view(), name="filing-change"),
]
