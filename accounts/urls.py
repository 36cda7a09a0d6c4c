from django.urls import path

from . import apis

# ``me``, activation/real-name and activation/pin are the wallet's
# (wallet/urls.py), mounted under the same api/ prefix.
urlpatterns = [
    path("auth/login", apis.LoginApi.as_view(), name="auth-login"),
    path("auth/refresh", apis.RefreshApi.as_view(), name="auth-refresh"),
    path("auth/logout", apis.LogoutApi.as_view(), name="auth-logout"),
    path("ws-ticket", apis.WsTicketApi.as_view(), name="ws-ticket"),
    path("activation/liveness/start", apis.LivenessStartApi.as_view(), name="activation-liveness-start"),
    path("activation/liveness/verify", apis.LivenessVerifyApi.as_view(), name="activation-liveness-verify"),
]
