from django.urls import path

from . import apis_activation

# Mounted under api/ next to accounts.urls (login, liveness): the URL paths
# are the same as when these views lived in accounts.
urlpatterns = [
    path("me", apis_activation.MeApi.as_view(), name="me"),
    path("activation/real-name", apis_activation.RealNameApi.as_view(), name="activation-real-name"),
    path("activation/pin", apis_activation.PinApi.as_view(), name="activation-pin"),
]
