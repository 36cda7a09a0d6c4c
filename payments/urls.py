from django.urls import path

from payments import apis

# Mounted under api/ (config/urls.py).
urlpatterns = [
    path("payments/pending", apis.PaymentPendingApi.as_view(), name="payments-pending"),
    path("payments/<str:public_id>/confirm", apis.PaymentConfirmApi.as_view(), name="payment-confirm"),
    path("payments/<str:public_id>/decline", apis.PaymentDeclineApi.as_view(), name="payment-decline"),
    path("records", apis.RecordListApi.as_view(), name="records"),
    path("records/<str:public_id>", apis.RecordDetailApi.as_view(), name="record-detail"),
]
