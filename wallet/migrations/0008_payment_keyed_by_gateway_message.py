# Issue #11: one idempotency record per terminal msgid in the wallet.
#
# - Payment hangs off the gateway journal (GatewayMessage, unique on
#   (fixmedins_code, msgid), with the body digest): Payment.msgid,
#   Payment.request_hash and the (institution, msgid) constraint go. A
#   payment whose journal row was dropped after a "not final" answer (the
#   old gateway deleted it) gets one back, as "retryable".
# - GatewayMessage gains "retryable" (the answer was not final; the same body
#   runs again).
# - PaymentStatus "confirmed" meant two things: rows that never asked the
#   payer become "received"; "confirmed" now means the payer confirmed.
# - core_msgid is always filled (the msgid the settle went to the core under).

from django.db import migrations, models
import django.db.models.deletion


def forwards(apps, schema_editor):
    Payment = apps.get_model("wallet", "Payment")
    GatewayMessage = apps.get_model("wallet", "GatewayMessage")
    for payment in Payment.objects.select_related("institution").iterator():
        message, _ = GatewayMessage.objects.get_or_create(
            fixmedins_code=payment.institution.fixmedins_code, msgid=payment.msgid,
            defaults={"infno": "2102", "request_hash": payment.request_hash,
                      "status": "retryable"})
        status = payment.status
        if status == "confirmed" and not payment.confirmation_required:
            status = "received"
        Payment.objects.filter(pk=payment.pk).update(message=message, status=status,
                                                     core_msgid=payment.core_msgid or payment.msgid)


def backwards(apps, schema_editor):
    Payment = apps.get_model("wallet", "Payment")
    for payment in Payment.objects.select_related("message").iterator():
        Payment.objects.filter(pk=payment.pk).update(
            msgid=payment.message.msgid, request_hash=payment.message.request_hash,
            status="confirmed" if payment.status == "received" else payment.status)


class Migration(migrations.Migration):

    dependencies = [
        ('wallet', '0007_exact_answers'),
    ]

    operations = [
        migrations.AlterField(
            model_name='gatewaymessage',
            name='status',
            field=models.CharField(choices=[('processing', '处理中'), ('retryable', '待重试'), ('done', '已完成')],
                                   default='processing', max_length=12),
        ),
        migrations.AlterField(
            model_name='payment',
            name='status',
            field=models.CharField(choices=[('received', '已受理'), ('awaiting_confirmation', '待确认'),
                                            ('confirmed', '已确认'), ('submitted', '提交中'), ('unknown', '结果待确认'),
                                            ('settled', '已结算'), ('failed', '失败'), ('declined', '已拒绝'),
                                            ('expired', '已超时'), ('reversed', '已撤销')], max_length=24),
        ),
        migrations.AddField(
            model_name='payment',
            name='message',
            field=models.OneToOneField(null=True, on_delete=django.db.models.deletion.PROTECT, related_name='payment',
                                       to='wallet.gatewaymessage',
                                       help_text="the terminal's 2102 request (fixmedins_code, msgid, body digest)"),
        ),
        migrations.RemoveConstraint(
            model_name='payment',
            name='uniq_payment_msgid',
        ),
        migrations.RunPython(forwards, backwards),
        migrations.RemoveField(
            model_name='payment',
            name='msgid',
        ),
        migrations.RemoveField(
            model_name='payment',
            name='request_hash',
        ),
        migrations.AlterField(
            model_name='payment',
            name='message',
            field=models.OneToOneField(on_delete=django.db.models.deletion.PROTECT, related_name='payment',
                                       to='wallet.gatewaymessage',
                                       help_text="the terminal's 2102 request (fixmedins_code, msgid, body digest)"),
        ),
        migrations.AlterField(
            model_name='payment',
            name='core_msgid',
            field=models.CharField(max_length=40),
        ),
    ]
