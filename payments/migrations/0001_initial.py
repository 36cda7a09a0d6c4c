"""The payments app's models, moved from the wallet app (issue #21): created in
the migration state only, on the wallet's existing tables (Meta.db_table)."""

import common.encrypted_fields
import django.db.models.deletion
from django.db import migrations, models

from common.migration_ops import content_types_move


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ('contenttypes', '0002_remove_content_type_name'),
        ('terminal', '0001_initial'),
        ('wallet', '0011_move_models_to_terminal_payments'),
    ]

    operations = [
        # State only: the tables stay where they are (Meta.db_table keeps the old
        # names), so an existing database keeps its rows and a fresh one gets the
        # tables from the wallet's own earlier migrations.
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name='Payment',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('public_id', models.CharField(max_length=32, unique=True)),
                        ('core_msgid', models.CharField(max_length=40)),
                        ('status', models.CharField(choices=[('received', '已受理'), ('awaiting_confirmation', '待确认'), ('confirmed', '已确认'), ('submitted', '提交中'), ('unknown', '结果待确认'), ('settled', '已结算'), ('failed', '失败'), ('declined', '已拒绝'), ('expired', '已超时'), ('reversed', '已撤销')], max_length=24)),
                        ('request', common.encrypted_fields.EncryptedJSONField(help_text='the 2102 input as the terminal sent it')),
                        ('confirmation_required', models.BooleanField(default=False)),
                        ('confirm_deadline', models.DateTimeField(blank=True, null=True)),
                        ('confirmed_at', models.DateTimeField(blank=True, null=True)),
                        ('medfee_fen', models.BigIntegerField()),
                        ('fund_fen', models.BigIntegerField(default=0)),
                        ('acct_fen', models.BigIntegerField(default=0)),
                        ('mulaid_fen', models.BigIntegerField(default=0)),
                        ('cash_fen', models.BigIntegerField(default=0)),
                        ('setl_id', models.CharField(blank=True, db_index=True, max_length=40)),
                        ('mdtrt_id', models.CharField(blank=True, max_length=40)),
                        ('core_output', common.encrypted_fields.EncryptedExactJSONField(blank=True, help_text='setlinfo, setldetail, explanation', null=True)),
                        ('infcode', models.IntegerField(blank=True, null=True)),
                        ('err_msg', models.CharField(blank=True, max_length=200)),
                        ('resolve_attempts', models.PositiveSmallIntegerField(default=0)),
                        ('reversal_msgid', models.CharField(blank=True, max_length=40)),
                        ('created_at', models.DateTimeField(auto_now_add=True, db_index=True)),
                        ('updated_at', models.DateTimeField(auto_now=True)),
                        ('settled_at', models.DateTimeField(blank=True, null=True)),
                        ('reversed_at', models.DateTimeField(blank=True, null=True)),
                        ('institution', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='payments', to='terminal.institution')),
                        ('message', models.OneToOneField(help_text="the terminal's 2102 request (fixmedins_code, msgid, body digest)", on_delete=django.db.models.deletion.PROTECT, related_name='payment', to='terminal.gatewaymessage')),
                        ('voucher', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='payments', to='wallet.voucher')),
                    ],
                    options={
                        'db_table': 'wallet_payment',
                        'indexes': [models.Index(fields=['status', 'updated_at'], name='wallet_paym_status_4628b3_idx')],
                    },
                ),
            ],
            database_operations=[],
        ),
        content_types_move("wallet", "payments", ['payment']),
    ]
