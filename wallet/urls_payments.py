from django.urls import path

from . import apis_app

urlpatterns = [
    path("payments/pending", apis_app.PaymentPendingApi.as_view(), name="payments-pending"),
    path("payments/<str:public_id>/confirm", apis_app.PaymentConfirmApi.as_view(), name="payment-confirm"),
    path("payments/<str:public_id>/decline", apis_app.PaymentDeclineApi.as_view(), name="payment-decline"),
    path("records", apis_app.RecordListApi.as_view(), name="records"),
    path("records/<str:public_id>", apis_app.RecordDetailApi.as_view(), name="record-detail"),
    path("account/balance", apis_app.BalanceApi.as_view(), name="account-balance"),
    path("notifications", apis_app.NotificationListApi.as_view(), name="notifications"),
]
