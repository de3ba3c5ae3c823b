"""The notification pages: list, open (mark read and follow a local link), mark all, badge."""

import re

import pytest
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext

from lien.core.models import Role
from lien.notifications import services
from lien.notifications.models import Notification
from tests.factories import UserFactory, make_membership

pytestmark = pytest.mark.django_db


def notify(user, title="Orientation acceptée", url="/journal-de-bord/", **kwargs):
    [notification] = services.notify(
        recipients=[user], kind="referral.answered", title=title, url=url, email=False, **kwargs
    )
    return notification


@pytest.fixture
def mediator(db):
    return make_membership(Role.MEDIATOR)


def test_list_shows_own_notifications_newest_first_with_unread_marked(client, login, mediator):
    old = notify(mediator.user, title="Ancienne notification")
    notify(mediator.user, title="Nouvelle notification")
    services.mark_read(user=mediator.user, notification=old)
    notify(UserFactory(), title="Notification de quelqu'un d'autre")
    response = login(mediator).get("/notifications/")
    assert response.status_code == 200
    body = response.content.decode()
    assert body.index("Nouvelle notification") < body.index("Ancienne notification")
    assert "quelqu&#x27;un d&#x27;autre" not in body
    assert body.count('class="unread-badge"') == 1
    assert "Tout marquer comme lu" in body


def test_list_is_paginated(client, login, mediator):
    for i in range(35):
        notify(mediator.user, title=f"Notification {i}")
    client = login(mediator)
    first = client.get("/notifications/").content.decode()
    assert first.count("<article>") == 30
    assert "Page 1 sur 2" in first
    assert client.get("/notifications/?page=2").content.decode().count("<article>") == 5


def test_list_needs_a_login_and_a_membership(client):
    response = client.get("/notifications/")
    assert response.status_code == 302
    assert "/accounts/login/" in response.headers["Location"]
    client.force_login(UserFactory(), backend="lien.core.auth.EmailBackend")
    assert client.get("/notifications/").status_code == 403


def test_opening_marks_read_and_follows_the_local_link(client, login, mediator):
    notification = notify(mediator.user, url="/journal-de-bord/?page=2")
    response = login(mediator).post(f"/notifications/{notification.pk}/lue/")
    assert response.status_code == 302
    assert response.headers["Location"] == "/journal-de-bord/?page=2"
    notification.refresh_from_db()
    assert notification.read_at is not None


def test_a_notification_without_link_leads_back_to_the_list(client, login, mediator):
    notification = notify(mediator.user, url="")
    response = login(mediator).post(f"/notifications/{notification.pk}/lue/")
    assert response.headers["Location"] == "/notifications/"


@pytest.mark.parametrize(
    "url", ["https://ailleurs.example.org/", "//ailleurs.example.org/", "javascript:alert(1)"]
)
def test_the_database_refuses_a_link_to_another_site(mediator, url):
    with pytest.raises(IntegrityError), transaction.atomic():
        Notification.objects.create(recipient=mediator.user, kind="x", title="Titre", url=url)


@pytest.mark.parametrize("url", ["/\\ailleurs.example.org/", "/\tailleurs", "/journal\n/"])
def test_the_redirect_refuses_urls_a_browser_could_send_elsewhere(client, login, mediator, url):
    """These pass the database check ("/\\host" is read as "//host" by browsers), so the
    view must refuse them itself."""
    notification = Notification.objects.create(
        recipient=mediator.user, kind="x", title="Titre", url=url
    )
    response = login(mediator).post(f"/notifications/{notification.pk}/lue/")
    assert response.status_code == 302
    assert response.headers["Location"] == "/notifications/"
    notification.refresh_from_db()
    assert notification.read_at is not None


@pytest.mark.parametrize(
    "url", ["https://ailleurs.example.org/", "//ailleurs.example.org/", "javascript:x", ""]
)
def test_any_other_link_leads_to_the_list(url):
    assert Notification(url=url).safe_url == "/notifications/"


def test_get_shows_the_notification_and_does_not_mark_it_read(client, login, mediator):
    notification = notify(mediator.user, title="Étape à faire", body="Rappel du suivi.")
    response = login(mediator).get(f"/notifications/{notification.pk}/lue/")
    assert response.status_code == 200
    assert "Étape à faire" in response.content.decode()
    notification.refresh_from_db()
    assert notification.read_at is None


def test_another_users_notification_is_a_404_and_stays_unread(client, login, mediator):
    notification = notify(make_membership(Role.MEDIATOR, structure=mediator.structure).user)
    client = login(mediator)
    assert client.get(f"/notifications/{notification.pk}/lue/").status_code == 404
    assert client.post(f"/notifications/{notification.pk}/lue/").status_code == 404
    notification.refresh_from_db()
    assert notification.read_at is None


def test_mark_all_read_is_post_only_and_touches_only_own(client, login, mediator):
    mine = [notify(mediator.user), notify(mediator.user)]
    theirs = notify(UserFactory())
    client = login(mediator)
    assert client.get("/notifications/tout-lire/").status_code == 405
    response = client.post("/notifications/tout-lire/", follow=True)
    assert response.redirect_chain[-1][0] == "/notifications/"
    assert "2 notifications marquées comme lues." in response.content.decode()
    assert all(Notification.objects.get(pk=n.pk).read_at for n in mine)
    assert Notification.objects.get(pk=theirs.pk).read_at is None


def _badge(body: str) -> str | None:
    match = re.search(r'class="notifications-link"[^>]*>(.*?)</a>', body, re.S)
    assert match, "the header has a link to the notifications"
    return match.group(1)


def test_the_header_shows_the_unread_count_accessibly(client, login, mediator):
    client = login(mediator)
    assert 'class="badge"' not in _badge(client.get("/notifications/").content.decode())
    first, second, _third = (notify(mediator.user) for _ in range(3))
    link = _badge(client.get("/").content.decode())
    assert '<span class="badge">3<span class="visually-hidden"> non lues</span></span>' in link
    services.mark_read(user=mediator.user, notification=first)
    services.mark_read(user=mediator.user, notification=second)
    link = _badge(client.get("/").content.decode())
    assert '<span class="badge">1<span class="visually-hidden"> non lue</span></span>' in link


def test_the_header_counts_once_per_page(client, login, mediator):
    """The badge is one COUNT per page, however many notifications there are."""
    for _ in range(20):
        notify(mediator.user)
    client = login(mediator)
    with CaptureQueriesContext(connection) as captured:
        client.get("/")
    counts = [
        q["sql"]
        for q in captured.captured_queries
        if "notifications_notification" in q["sql"] and "COUNT" in q["sql"].upper()
    ]
    assert len(counts) == 1
