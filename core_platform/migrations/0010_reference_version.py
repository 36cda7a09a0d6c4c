"""The reference-data version token and the triggers that replace it on any
change of the tables core_platform/reference.py caches (PostgreSQL: one
statement-level trigger per table, TRUNCATE included; SQLite: one row
trigger per table and operation)."""

from django.db import migrations, models

TABLES = ("core_platform_region", "core_platform_institution", "core_platform_catalogueitem",
          "core_platform_regioncatalogueitem", "core_platform_policyparameters")

PG_FUNCTION = """
CREATE OR REPLACE FUNCTION core_platform_reference_changed() RETURNS trigger AS $$
BEGIN
    INSERT INTO core_platform_referenceversion (id, token)
    VALUES (1, floor(random() * 9000000000000000000)::bigint)
    ON CONFLICT (id) DO UPDATE SET token = EXCLUDED.token;
    RETURN NULL;
END
$$ LANGUAGE plpgsql
"""


def triggers_create(apps, schema_editor):
    connection = schema_editor.connection
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(PG_FUNCTION)
            for table in TABLES:
                for events in ("INSERT OR UPDATE OR DELETE", "TRUNCATE"):
                    name = f"{table}_ref_{'t' if events == 'TRUNCATE' else 'iud'}"
                    cursor.execute(f"CREATE TRIGGER {name} AFTER {events} ON {table} "
                                   "FOR EACH STATEMENT EXECUTE FUNCTION core_platform_reference_changed()")
        elif connection.vendor == "sqlite":
            for table in TABLES:
                for event in ("INSERT", "UPDATE", "DELETE"):
                    cursor.execute(f"CREATE TRIGGER {table}_ref_{event.lower()} AFTER {event} ON {table} BEGIN "
                                   "INSERT OR REPLACE INTO core_platform_referenceversion (id, token) "
                                   "VALUES (1, random()); END")
        else:  # pragma: no cover - the project runs on PostgreSQL and SQLite only
            raise RuntimeError(f"no reference-version triggers for {connection.vendor}")
        cursor.execute("INSERT INTO core_platform_referenceversion (id, token) VALUES (1, 1)")


def triggers_drop(apps, schema_editor):
    connection = schema_editor.connection
    with connection.cursor() as cursor:
        for table in TABLES:
            if connection.vendor == "postgresql":
                for suffix in ("iud", "t"):
                    cursor.execute(f"DROP TRIGGER IF EXISTS {table}_ref_{suffix} ON {table}")
            else:
                for event in ("insert", "update", "delete"):
                    cursor.execute(f"DROP TRIGGER IF EXISTS {table}_ref_{event}")
        if connection.vendor == "postgresql":
            cursor.execute("DROP FUNCTION IF EXISTS core_platform_reference_changed()")


class Migration(migrations.Migration):
    dependencies = [("core_platform", "0009_ledger_owner_length")]

    operations = [
        migrations.CreateModel(
            name="ReferenceVersion",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("token", models.BigIntegerField()),
            ],
        ),
        migrations.RunPython(triggers_create, triggers_drop),
    ]
