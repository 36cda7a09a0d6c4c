from django.urls import path

from bare_debit.ledger.views import debit

urlpatterns = [path("debit", debit)]
