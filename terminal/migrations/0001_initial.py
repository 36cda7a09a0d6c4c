"""The terminal app's models, moved from the wallet app (issue #21): created in
the migration state only, on the wallet's existing tables (Meta.db_table)."""

import common.encrypted_fields
import django.db.models.deletion
import django.utils.timezone
from django.db import migrations, models

from common.migration_ops import content_types_move


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ('contenttypes', '0002_remove_content_type_name'),
        ('wallet', '0011_move_models_to_terminal_payments'),
    ]

    operations = [
        # State only: the tables stay where they are (Meta.db_table keeps the old
        # names), so an existing database keeps its rows and a fresh one gets the
        # tables from the wallet's own earlier migrations.
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name='Institution',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('fixmedins_code', models.CharField(max_length=30, unique=True)),
                        ('name', models.CharField(max_length=100)),
                        ('kind', models.CharField(help_text='pharmacy / hospital', max_length=10)),
                        ('level', models.CharField(blank=True, max_length=2)),
                        ('region', models.CharField(max_length=6)),
                        ('designated', models.BooleanField(default=True)),
                        ('active', models.BooleanField(default=True)),
                        ('secret_encrypted', models.TextField(help_text='HMAC secret for x-tif-signature, encrypted at rest')),
                        ('created_at', models.DateTimeField(auto_now_add=True)),
                    ],
                    options={
                        'db_table': 'wallet_institution',
                    },
                ),
                migrations.CreateModel(
                    name='GatewayMessage',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('fixmedins_code', models.CharField(max_length=30)),
                        ('msgid', models.CharField(max_length=40)),
                        ('infno', models.CharField(max_length=5)),
                        ('request_hash', models.CharField(max_length=64)),
                        ('status', models.CharField(choices=[('processing', '处理中'), ('retryable', '待重试'), ('done', '已完成')], default='processing', max_length=12)),
                        ('response', common.encrypted_fields.EncryptedTextField(blank=True, null=True)),
                        ('created_at', models.DateTimeField(auto_now_add=True)),
                        ('claimed_at', models.DateTimeField(default=django.utils.timezone.now)),
                        ('completed_at', models.DateTimeField(blank=True, null=True)),
                    ],
                    options={
                        'db_table': 'wallet_gatewaymessage',
                        'constraints': [models.UniqueConstraint(fields=('fixmedins_code', 'msgid'), name='uniq_gateway_msgid')],
                    },
                ),
                migrations.CreateModel(
                    name='EcToken',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('token_hash', models.CharField(max_length=64, unique=True)),
                        ('proxy_grant_id', models.BigIntegerField(blank=True, help_text="family code grant id, when a binder showed a relative's code", null=True)),
                        ('business_type', models.CharField(blank=True, max_length=5)),
                        ('operator_id', models.CharField(blank=True, max_length=30)),
                        ('created_at', models.DateTimeField(auto_now_add=True)),
                        ('expires_at', models.DateTimeField(db_index=True)),
                        ('authorization', models.ForeignKey(help_text='the channel authorization the decoded code was shown under; null only on tokens issued before the chain was recorded, which are refused', null=True, on_delete=django.db.models.deletion.PROTECT, related_name='ec_tokens', to='wallet.channelauthorization')),
                        ('voucher', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='ec_tokens', to='wallet.voucher')),
                        ('institution', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='ec_tokens', to='terminal.institution')),
                    ],
                    options={
                        'db_table': 'wallet_ectoken',
                    },
                ),
                migrations.CreateModel(
                    name='TerminalSignIn',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('sign_no', models.CharField(max_length=40, unique=True)),
                        ('opter_no', models.CharField(max_length=30)),
                        ('mac', models.CharField(blank=True, max_length=40)),
                        ('ip', models.CharField(blank=True, max_length=45)),
                        ('signed_in_at', models.DateTimeField(auto_now_add=True)),
                        ('signed_out_at', models.DateTimeField(blank=True, null=True)),
                        ('institution', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='sign_ins', to='terminal.institution')),
                    ],
                    options={
                        'db_table': 'wallet_terminalsignin',
                    },
                ),
            ],
            database_operations=[],
        ),
        content_types_move("wallet", "terminal", ['institution', 'terminalsignin', 'gatewaymessage', 'ectoken']),
    ]
