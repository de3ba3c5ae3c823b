import pytest

from tests.factories import make_membership, make_territories


@pytest.fixture
def territories(db):
    return make_territories()


@pytest.fixture
def membership_factory(db):
    return make_membership


@pytest.fixture
def login(client):
    """Log a membership's user in and make that membership current."""

    def _login(membership):
        client.force_login(membership.user, backend="lien.core.auth.EmailBackend")
        session = client.session
        session["lien_membership_id"] = str(membership.pk)
        session.save()
        return client

    return _login


@pytest.fixture(autouse=True)
def _fresh_vocabulary_cache():
    """Each test has its own database rows: never reuse another test's cached items."""
    from lien.indicators.engine import forget_ids
    from lien.indicators.maps import forget_paths
    from lien.logbook.forms import forget_vocabularies

    forget_vocabularies()
    forget_ids()
    forget_paths()
