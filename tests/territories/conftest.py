import pytest
from django.core.management import call_command
from django.db import transaction


@pytest.fixture(scope="module")
def shipped(django_db_setup, django_db_blocker):
    """The shipped COG (Nord, Pas-de-Calais) and demo QPV, loaded once per module.

    Loaded inside a transaction that each test's own transaction nests in (as Django's
    setUpTestData does) and rolled back at the end of the module, so nothing leaks into
    other modules — not even the audit events, which cannot be deleted.
    """
    with django_db_blocker.unblock():
        atomic = transaction.atomic()
        atomic.__enter__()
        try:
            call_command("load_territories", verbosity=0)
            call_command("load_territories", "--qpv-demo", verbosity=0)
            yield
        finally:
            transaction.set_rollback(True)
            atomic.__exit__(None, None, None)
