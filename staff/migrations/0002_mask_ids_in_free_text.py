"""Issue #20: reasons and notes stored before ID numbers were masked however
written (after letters or CJK, in groups, fullwidth, lowercase x) are masked
in place with the same rule new text is stored with (common.idnumber.
mask_in_text). Audit events are not rewritten (their MACs seal them); the
audit search and export mask them when shown."""

from django.db import migrations

from common.idnumber import mask_in_text

FIELDS = {"Case": ("reason",), "ApprovalRequest": ("reason", "decision_reason"), "CaseNote": ("text",)}


def mask_stored_text(apps, schema_editor):
    for model_name, fields in FIELDS.items():
        model = apps.get_model("staff", model_name)
        for row in model.objects.only("pk", *fields).iterator(chunk_size=500):
            masked = {f: mask_in_text(getattr(row, f)) for f in fields}
            changed = {f: text for f, text in masked.items() if text != getattr(row, f)}
            if changed:
                model.objects.filter(pk=row.pk).update(**changed)


class Migration(migrations.Migration):
    dependencies = [("staff", "0001_initial")]
    operations = [migrations.RunPython(mask_stored_text, migrations.RunPython.noop)]
