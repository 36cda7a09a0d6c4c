"""Issue #21: Institution, TerminalSignIn, GatewayMessage and EcToken moved to
terminal/, Payment to payments/. State only, no table changes."""

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('wallet', '0010_ectoken_chain'),
    ]

    operations = [
        # State only: the tables stay where they are (Meta.db_table keeps the old
        # names), so an existing database keeps its rows and a fresh one gets the
        # tables from the wallet's own earlier migrations.
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.RemoveField(
                    model_name='payment',
                    name='message',
                ),
                migrations.RemoveField(
                    model_name='payment',
                    name='institution',
                ),
                migrations.RemoveField(
                    model_name='terminalsignin',
                    name='institution',
                ),
                migrations.RemoveField(
                    model_name='payment',
                    name='voucher',
                ),
                migrations.DeleteModel(
                    name='EcToken',
                ),
                migrations.DeleteModel(
                    name='GatewayMessage',
                ),
                migrations.DeleteModel(
                    name='Institution',
                ),
                migrations.DeleteModel(
                    name='TerminalSignIn',
                ),
                migrations.DeleteModel(
                    name='Payment',
                ),
            ],
            database_operations=[],
        ),
    ]
