"""Refuse changes to the audit journal at the database level.

PostgreSQL: a trigger refuses UPDATE and DELETE. TRUNCATE stays possible for the owner
(the test runner's flush uses it; production roles are not granted it).
SQLite: a trigger refuses UPDATE; DELETE stays blocked by the model and its QuerySet,
because SQLite's flush between tests deletes rows one by one.
"""

from django.db import migrations

POSTGRES_FORWARDS = [
    """
    CREATE OR REPLACE FUNCTION lien_audit_refuse_change() RETURNS trigger AS $$
    BEGIN
        RAISE EXCEPTION 'Le journal d''audit est en ajout seul (% refusé)', TG_OP;
    END;
    $$ LANGUAGE plpgsql
    """,
    """
    CREATE TRIGGER core_auditevent_append_only
        BEFORE UPDATE OR DELETE ON core_auditevent
        FOR EACH ROW EXECUTE FUNCTION lien_audit_refuse_change()
    """,
]
POSTGRES_BACKWARDS = [
    "DROP TRIGGER IF EXISTS core_auditevent_append_only ON core_auditevent",
    "DROP FUNCTION IF EXISTS lien_audit_refuse_change()",
]
SQLITE_FORWARDS = [
    """
    CREATE TRIGGER core_auditevent_no_update BEFORE UPDATE ON core_auditevent
    BEGIN SELECT RAISE(ABORT, 'Le journal d''audit est en ajout seul (UPDATE refusé)'); END
    """,
]
SQLITE_BACKWARDS = ["DROP TRIGGER IF EXISTS core_auditevent_no_update"]


def _run(schema_editor, statements):
    for sql in statements:
        # params=None: the SQL holds a literal "%", not a placeholder.
        schema_editor.execute(sql, params=None)


def forwards(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        _run(schema_editor, POSTGRES_FORWARDS)
    elif vendor == "sqlite":
        _run(schema_editor, SQLITE_FORWARDS)


def backwards(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        _run(schema_editor, POSTGRES_BACKWARDS)
    elif vendor == "sqlite":
        _run(schema_editor, SQLITE_BACKWARDS)


class Migration(migrations.Migration):
    dependencies = [("core", "0001_initial")]
    operations = [migrations.RunPython(forwards, backwards, elidable=False)]
