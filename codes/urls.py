from django.urls import path, re_path

from codes import apis

# Mounted under api/ (config/urls.py).
urlpatterns = [
    path("voucher/code", apis.CodeCurrentApi.as_view(), name="voucher-code"),
    re_path(r"^voucher/code/(?P<kind>qr|barcode)$", apis.CodeImageApi.as_view(), name="voucher-code-image"),
]
