from django.urls import path

from . import apis

urlpatterns = [
    path("auth/login", apis.LoginApi.as_view(), name="auth-login"),
    path("auth/refresh", apis.RefreshApi.as_view(), name="auth-refresh"),
    path("auth/logout", apis.LogoutApi.as_view(), name="auth-logout"),
    path("me", apis.MeApi.as_view(), name="me"),
    path("ws-ticket", apis.WsTicketApi.as_view(), name="ws-ticket"),
    path("activation/real-name", apis.RealNameApi.as_view(), name="activation-real-name"),
    path("activation/liveness/start", apis.LivenessStartApi.as_view(), name="activation-liveness-start"),
    path("activation/liveness/verify", apis.LivenessVerifyApi.as_view(), name="activation-liveness-verify"),
    path("activation/pin", apis.PinApi.as_view(), name="activation-pin"),
]
