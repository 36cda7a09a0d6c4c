from django.urls import path

from . import apis

urlpatterns = [
    path("auth/csrf", apis.StaffCsrfApi.as_view(), name="staff-csrf"),
    path("auth/login", apis.StaffLoginApi.as_view(), name="staff-login"),
    path("auth/logout", apis.StaffLogoutApi.as_view(), name="staff-logout"),
    path("auth/me", apis.StaffMeApi.as_view(), name="staff-me"),
    path("lookup", apis.LookupApi.as_view(), name="staff-lookup"),
    path("cases/<str:case_id>", apis.CaseApi.as_view(), name="staff-case"),
    path("cases/<str:case_id>/reset-tickets", apis.ResetTicketCreateApi.as_view(), name="staff-reset-ticket-create"),
    path("cases/<str:case_id>/freeze", apis.FreezeApi.as_view(), name="staff-freeze"),
    path("cases/<str:case_id>/authorizations/<int:authorization_id>/revoke", apis.RevokeApi.as_view(),
         name="staff-revoke"),
    path("cases/<str:case_id>/notes", apis.NoteCreateApi.as_view(), name="staff-note-create"),
    path("cases/<str:case_id>/requests", apis.RequestCreateApi.as_view(), name="staff-request-create"),
    path("reset-tickets/<str:ticket_id>/cancel", apis.ResetTicketCancelApi.as_view(), name="staff-reset-ticket-cancel"),
    path("requests", apis.RequestListApi.as_view(), name="staff-request-list"),
    path("requests/<str:request_id>/approve", apis.RequestApproveApi.as_view(), name="staff-request-approve"),
    path("requests/<str:request_id>/deny", apis.RequestDenyApi.as_view(), name="staff-request-deny"),
    path("requests/<str:request_id>/withdraw", apis.RequestWithdrawApi.as_view(), name="staff-request-withdraw"),
    path("alerts", apis.AlertListApi.as_view(), name="staff-alerts"),
    path("audit/events", apis.AuditListApi.as_view(), name="staff-audit-events"),
    path("audit/export", apis.AuditExportApi.as_view(), name="staff-audit-export"),
    path("audit/checkpoint", apis.AuditCheckpointApi.as_view(), name="staff-audit-checkpoint"),
]
