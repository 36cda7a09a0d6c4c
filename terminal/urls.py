from django.urls import path

from terminal import apis

urlpatterns = [
    path("fsi/api/rsfComIfsService/callService", apis.envelope_call_service, name="gateway-call-service"),
    path("localcfc/api/hsecfc/localQrCodeQuery", apis.voucher_decode, name="voucher-decode"),
]
