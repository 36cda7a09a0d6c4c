from django.contrib import admin

from .models import AuditEvent, ChannelLogin, Person


@admin.register(Person)
class PersonAdmin(admin.ModelAdmin):
    list_display = ("psn_no", "name", "masked_id", "insutype", "insured_region")
    exclude = ("id_number_encrypted", "id_number_hash")
    search_fields = ("psn_no",)

    @admin.display(description="身份证号")
    def masked_id(self, obj):
        return obj.id_number_masked


@admin.register(ChannelLogin)
class ChannelLoginAdmin(admin.ModelAdmin):
    list_display = ("channel", "openid", "person", "created_at")


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    list_display = ("occurred_at", "action", "outcome", "actor", "channel", "ip", "code")
    list_filter = ("action", "outcome")

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
