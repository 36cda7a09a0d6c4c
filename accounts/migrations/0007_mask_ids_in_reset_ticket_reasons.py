"""Issue #20: PIN-reset tickets' reasons stored before ID numbers were masked
however written are masked in place (common.idnumber.mask_in_text, the rule
new reasons are stored with). Audit events are not rewritten (their MACs
seal them); the audit search and export mask them when shown."""

from django.db import migrations

from common.idnumber import mask_in_text


def mask_stored_reasons(apps, schema_editor):
    ticket = apps.get_model("accounts", "PinResetTicket")
    for row in ticket.objects.only("pk", "reason").iterator(chunk_size=500):
        masked = mask_in_text(row.reason)
        if masked != row.reason:
            ticket.objects.filter(pk=row.pk).update(reason=masked)


class Migration(migrations.Migration):
    dependencies = [("accounts", "0006_liveness_purpose_unfreeze")]
    operations = [migrations.RunPython(mask_stored_reasons, migrations.RunPython.noop)]
