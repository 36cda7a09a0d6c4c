"""/api/family/ (mounted in config/urls.py). Mutual aid (F2b) adds its paths below."""

from django.urls import path

from family import apis

urlpatterns = [
    path("relatives", apis.RelativeListApi.as_view(), name="family-relatives"),
    path("relatives/<str:binding_id>", apis.RelativeDetailApi.as_view(), name="family-relative"),
    path("relatives/<str:binding_id>/liveness/start", apis.RelativeLivenessStartApi.as_view(),
         name="family-relative-liveness-start"),
    path("relatives/<str:binding_id>/liveness/verify", apis.RelativeLivenessVerifyApi.as_view(),
         name="family-relative-liveness-verify"),
    path("relatives/<str:binding_id>/invitation", apis.RelativeInvitationApi.as_view(), name="family-invitation-create"),
    path("relatives/<str:binding_id>/end", apis.RelativeEndApi.as_view(), name="family-relative-end"),
    path("relatives/<str:binding_id>/pin", apis.RelativePinApi.as_view(), name="family-relative-pin"),
    path("relatives/<str:binding_id>/records", apis.RelativeRecordListApi.as_view(), name="family-relative-records"),
    path("relatives/<str:binding_id>/records/<str:record_id>", apis.RelativeRecordDetailApi.as_view(),
         name="family-relative-record"),
    path("relatives/<str:binding_id>/balance", apis.RelativeBalanceApi.as_view(), name="family-relative-balance"),
    path("relatives/<str:binding_id>/payments/pending", apis.RelativePaymentPendingApi.as_view(),
         name="family-relative-payments-pending"),
    path("invitations/<str:token>", apis.InvitationDetailApi.as_view(), name="family-invitation"),
    path("invitations/<str:token>/qr", apis.InvitationQrApi.as_view(), name="family-invitation-qr"),
    path("invitations/<str:token>/liveness/start", apis.InvitationLivenessStartApi.as_view(),
         name="family-invitation-liveness-start"),
    path("invitations/<str:token>/liveness/verify", apis.InvitationLivenessVerifyApi.as_view(),
         name="family-invitation-accept"),
    path("binders", apis.BinderListApi.as_view(), name="family-binders"),
    path("binders/<str:binding_id>/end", apis.BinderEndApi.as_view(), name="family-binder-end"),
    path("code-views", apis.CodeViewListApi.as_view(), name="family-code-views"),
    # mutual aid (家庭共济, F2b)
    path("relatives/<str:binding_id>/mutual-aid", apis.MutualAidApi.as_view(), name="family-mutual-aid"),
    path("relatives/<str:binding_id>/mutual-aid/revoke", apis.MutualAidRevokeApi.as_view(),
         name="family-mutual-aid-revoke"),
    path("relatives/<str:binding_id>/contribution", apis.ContributionApi.as_view(),
         name="family-contribution"),
    path("contributions/<str:contribution_id>/reverse", apis.ContributionReverseApi.as_view(),
         name="family-contribution-reverse"),
    path("mutual-aid/ledger", apis.LedgerApi.as_view(), name="family-mutual-aid-ledger"),
    path("mutual-aid/confirmations", apis.PayerConfirmationListApi.as_view(),
         name="family-mutual-aid-confirmations"),
    path("mutual-aid/confirmations/<str:payment_id>/confirm", apis.PayerConfirmApi.as_view(),
         name="family-mutual-aid-confirm"),
    path("mutual-aid/confirmations/<str:payment_id>/decline", apis.PayerDeclineApi.as_view(),
         name="family-mutual-aid-decline"),
]
