import pytest
from django.db import DatabaseError, connection, transaction

from lien.core import audit
from lien.core.models import AuditEvent
from tests.factories import StructureFactory

pytestmark = pytest.mark.django_db


def make_event():
    with transaction.atomic():
        return audit.record_create(actor=None, obj=StructureFactory())


def test_events_cannot_be_changed_or_deleted_through_the_orm(territories):
    event = make_event()
    event.note = "réécrit"
    with pytest.raises(PermissionError):
        event.save()
    with pytest.raises(PermissionError):
        event.delete()
    with pytest.raises(PermissionError):
        AuditEvent.objects.update(note="x")
    with pytest.raises(PermissionError):
        AuditEvent.objects.all().delete()


def test_the_database_refuses_updates_of_the_journal(territories):
    make_event()
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE core_auditevent SET note = 'x'")


@pytest.mark.skipif(connection.vendor != "postgresql", reason="trigger PostgreSQL")
def test_postgresql_refuses_deletes_of_the_journal(territories):
    make_event()
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM core_auditevent")


@pytest.mark.django_db(transaction=True)
def test_journaled_writes_must_run_in_a_transaction(territories):
    structure = StructureFactory()
    with pytest.raises(RuntimeError):
        audit.record_create(actor=None, obj=structure)


def test_update_records_only_what_changed(territories):
    structure = StructureFactory(network="")
    before = audit.snapshot(structure)
    structure.network = "Réseau"
    with transaction.atomic():
        event = audit.record_update(actor=None, obj=structure, before=before)
    assert event.before == {"network": ""}
    assert event.after == {"network": "Réseau"}
