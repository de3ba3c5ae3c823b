"""Posts and pooled posts: shares that make 100 %, who sees what, and the pages."""

import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from django.utils import timezone

from lien.core.models import AuditEvent, Role
from lien.jobs import services
from lien.jobs.models import Funding, Post, PostShare
from tests.factories import ServiceFactory, make_membership, next_siret
from tests.jobs.factories import make_funding, make_jobs, make_post

D = datetime.date


@pytest.fixture
def pooled(jobs):
    """A's post shared 60/40 between A and B."""
    post = jobs["a"]["post"]
    services.post_shares_set(
        actor=jobs["coordinator"],
        post=post,
        shares=[(jobs["structure"], Decimal("60")), (jobs["structure_b"], Decimal("40"))],
    )
    return post


# --- writes ------------------------------------------------------------------------------


def test_a_post_is_created_by_the_coordination_and_journaled(jobs):
    post = services.post_create(
        actor=jobs["coordinator"],
        structure=jobs["structure"],
        data={
            "title": "Médiateur·rice social·e",
            "rome_code": "K1205",
            "service": jobs["service"],
            "fte": Decimal("0.8"),
        },
    )
    assert post.get_rome_code_display().startswith("K1205")
    assert AuditEvent.objects.filter(object_id=str(post.pk), action="create").exists()


def test_a_post_belongs_to_a_service_of_its_structure(jobs):
    with pytest.raises(ValidationError) as exc:
        services.post_create(
            actor=jobs["coordinator"],
            structure=jobs["structure"],
            data={"title": "Poste", "service": jobs["service_b"], "fte": Decimal("1")},
        )
    assert "service" in exc.value.message_dict


@pytest.mark.parametrize("fte", ["0", "1.5", "-1"])
def test_a_post_counts_between_0_01_and_1_fte(jobs, fte):
    with pytest.raises(ValidationError) as exc:
        services.post_update(
            actor=jobs["coordinator"], post=jobs["a"]["post"], data={"fte": Decimal(fte)}
        )
    assert "fte" in exc.value.message_dict


@pytest.mark.parametrize("actor", ["mediator", "coordinator_b", "city_member", "steering"])
def test_only_the_coordination_writes_posts(jobs, actor):
    with pytest.raises(PermissionDenied):
        services.post_create(
            actor=jobs[actor],
            structure=jobs["structure"],
            data={"title": "X", "service": jobs["service"], "fte": 1},
        )
    with pytest.raises(PermissionDenied):
        services.post_update(actor=jobs[actor], post=jobs["a"]["post"], data={"title": "X"})
    with pytest.raises(PermissionDenied):
        services.post_shares_set(actor=jobs[actor], post=jobs["a"]["post"], shares=[])


def test_shares_of_a_pooled_post_make_100_percent(jobs, pooled):
    assert sorted(pooled.shares.values_list("share", flat=True)) == [40, 60]
    with pytest.raises(ValidationError) as exc:
        services.post_shares_set(
            actor=jobs["coordinator"],
            post=pooled,
            shares=[(jobs["structure"], Decimal("60")), (jobs["structure_b"], Decimal("30"))],
        )
    assert exc.value.message_dict["shares"] == [
        "Les parts d'un poste mutualisé font 100 % au total (ici : 90 %)."
    ]
    assert sorted(pooled.shares.values_list("share", flat=True)) == [40, 60]  # unchanged


def test_a_beneficiary_appears_once(jobs):
    with pytest.raises(ValidationError) as exc:
        services.post_shares_set(
            actor=jobs["coordinator"],
            post=jobs["a"]["post"],
            shares=[(jobs["structure"], Decimal("50")), (jobs["structure"], Decimal("50"))],
        )
    assert "deux fois" in exc.value.message_dict["shares"][0]


def test_no_shares_makes_a_plain_post_again(jobs, pooled):
    services.post_shares_set(actor=jobs["coordinator"], post=pooled, shares=[])
    assert not PostShare.objects.filter(post=pooled).exists()


def test_the_shares_page_says_what_is_wrong(jobs, login, pooled):
    client = login(jobs["coordinator"])
    url = reverse("jobs:post_shares", kwargs={"pk": pooled.pk})
    page = client.get(url)
    assert page.status_code == 200 and jobs["structure_b"].siret in page.content.decode()
    response = client.post(
        url,
        {
            "siret_1": jobs["structure"].siret,
            "share_1": "50",
            "siret_2": jobs["structure_b"].siret,
            "share_2": "40",
        },
    )
    assert response.status_code == 200
    assert "font 100 % au total (ici : 90 %)" in response.content.decode()
    response = client.post(url, {"siret_1": next_siret(), "share_1": "100"})
    assert response.context["form"].errors["siret_1"] == ["Aucune structure active n'a ce SIRET."]
    response = client.post(url, {"siret_1": "12345678901234", "share_1": "100"})
    assert "clé de Luhn" in response.context["form"].errors["siret_1"][0]
    response = client.post(
        url,
        {
            "siret_1": jobs["structure"].siret,
            "share_1": "50",
            "siret_2": jobs["structure_b"].siret,
            "share_2": "50",
        },
    )
    assert response.status_code == 302
    assert sorted(pooled.shares.values_list("share", flat=True)) == [50, 50]


# --- who sees what -----------------------------------------------------------------------


def test_each_structure_sees_its_posts_and_the_pooled_posts_it_benefits_from(jobs, pooled):
    assert set(Post.objects.visible_to(jobs["coordinator"])) == {pooled}
    assert set(Post.objects.visible_to(jobs["mediator"])) == {pooled}
    # B sees its own post and A's pooled post, not A's contracts nor A's people.
    assert set(Post.objects.visible_to(jobs["coordinator_b"])) == {jobs["b"]["post"], pooled}
    assert not pooled.contracts.all() & pooled.contracts.model.objects.visible_to(
        jobs["coordinator_b"]
    )


def test_a_funder_sees_only_what_it_funds(jobs):
    assert set(Post.objects.visible_to(jobs["city_member"])) == {jobs["a"]["post"]}
    assert set(Funding.objects.visible_to(jobs["city_member"])) == {jobs["a"]["funding"]}
    assert set(Post.objects.visible_to(jobs["landlord_member"])) == {jobs["b"]["post"]}


def test_steering_and_partners_see_no_post(jobs):
    partner = make_membership(Role.PARTNER)
    for membership in (jobs["steering"], partner):
        assert not Post.objects.visible_to(membership).exists()
        assert not Funding.objects.visible_to(membership).exists()


def test_the_coordination_of_b_cannot_reach_as_posts(jobs, login):
    client = login(jobs["coordinator_b"])
    a = jobs["a"]
    for name, pk in [
        ("post_detail", a["post"].pk),
        ("post_edit", a["post"].pk),
        ("post_shares", a["post"].pk),
        ("contract_edit", a["contract"].pk),
        ("mediator_edit", a["mediator"].pk),
        ("funding_edit", a["funding"].pk),
    ]:
        url = reverse(f"jobs:{name}", kwargs={"pk": pk})
        assert client.get(url).status_code == 404, name
        assert client.post(url, {"title": "Volé"}).status_code in (404, 405), name
    assert (
        client.get(reverse("jobs:contract_create", kwargs={"post_pk": a["post"].pk})).status_code
        == 404
    )
    assert Post.objects.get(pk=a["post"].pk).title != "Volé"


def test_a_mediator_reads_but_cannot_write(jobs, login):
    client = login(jobs["mediator"])
    post = jobs["a"]["post"]
    assert client.get(reverse("jobs:post_detail", kwargs={"pk": post.pk})).status_code == 200
    assert client.get(reverse("jobs:mediator_list")).status_code == 200
    for url in (
        reverse("jobs:post_create"),
        reverse("jobs:post_edit", kwargs={"pk": post.pk}),
        reverse("jobs:funding_create"),
        reverse("jobs:mediator_create"),
        reverse("jobs:contract_edit", kwargs={"pk": jobs["a"]["contract"].pk}),
    ):
        assert client.get(url).status_code == 403, url
        assert client.post(url, {}).status_code == 403, url


def test_a_funder_never_sees_the_people(jobs, login, pooled):
    client = login(jobs["city_member"])
    name = jobs["a"]["mediator"].last_name
    listing = client.get(reverse("jobs:post_list")).content.decode()
    assert jobs["a"]["post"].title in listing and jobs["b"]["post"].title not in listing
    detail = client.get(reverse("jobs:post_detail", kwargs={"pk": jobs["a"]["post"].pk}))
    assert detail.status_code == 200
    assert name not in detail.content.decode() and "Camille" not in detail.content.decode()
    assert (
        client.get(reverse("jobs:post_detail", kwargs={"pk": jobs["b"]["post"].pk})).status_code
        == 404
    )
    assert client.get(reverse("jobs:mediator_list")).status_code == 403


def test_a_beneficiary_sees_the_pooled_post_but_not_the_people(jobs, login, pooled):
    client = login(jobs["coordinator_b"])
    detail = client.get(reverse("jobs:post_detail", kwargs={"pk": pooled.pk}))
    assert detail.status_code == 200
    assert jobs["a"]["mediator"].last_name not in detail.content.decode()
    assert "Modifier le poste" not in detail.content.decode()


def test_steering_has_no_jobs_page(jobs, login):
    assert login(jobs["steering"]).get(reverse("jobs:post_list")).status_code == 403


# --- pages -------------------------------------------------------------------------------


def test_pages_render_for_the_coordination(jobs, login, pooled):
    client = login(jobs["coordinator"])
    a = jobs["a"]
    urls = [
        reverse("jobs:post_list"),
        reverse("jobs:post_detail", kwargs={"pk": a["post"].pk}),
        reverse("jobs:post_create"),
        reverse("jobs:post_edit", kwargs={"pk": a["post"].pk}),
        reverse("jobs:post_shares", kwargs={"pk": a["post"].pk}),
        reverse("jobs:contract_create", kwargs={"post_pk": a["post"].pk}),
        reverse("jobs:contract_edit", kwargs={"pk": a["contract"].pk}),
        reverse("jobs:mediator_list"),
        reverse("jobs:mediator_create"),
        reverse("jobs:mediator_edit", kwargs={"pk": a["mediator"].pk}),
        reverse("jobs:funding_create") + f"?poste={a['post'].pk}",
        reverse("jobs:funding_edit", kwargs={"pk": a["funding"].pk}),
    ]
    for url in urls:
        assert client.get(url).status_code == 200, url
    detail = client.get(urls[1]).content.decode()
    assert a["mediator"].full_name in detail and jobs["structure_b"].name in detail


def test_the_structure_page_links_to_the_jobs(jobs, login):
    page = login(jobs["coordinator"]).get(
        reverse("structures:structure_detail", kwargs={"pk": jobs["structure"].pk})
    )
    assert reverse("jobs:post_list") in page.content.decode()


def test_the_list_shows_totals_and_alerts(jobs, login, settings):
    settings.LIEN_FUNDING_ALERT_MONTHS = 3
    today = timezone.localdate()
    post = make_post(
        jobs["service"], title="Poste en fin de financement", fte=Decimal("0.5"), status="filled"
    )
    make_funding(
        post,
        jobs["city"],
        starts_on=today - datetime.timedelta(days=300),
        ends_on=today + datetime.timedelta(days=20),
    )
    response = login(jobs["coordinator"]).get(reverse("jobs:post_list"))
    totals = response.context["totals"]
    assert totals["posts"] == 2 and totals["total_fte"] == Decimal("1.5")
    assert totals["filled_fte"] == Decimal("0.5")
    assert [p.title for p in response.context["alerts"]] == ["Poste en fin de financement"]
    assert "dans les 3 mois" in response.content.decode()


def test_the_list_costs_the_same_queries_for_1_or_30_posts(
    jobs, login, django_assert_max_num_queries
):
    client = login(jobs["coordinator"])
    url = reverse("jobs:post_list")
    client.get(url)  # warm the session and caches
    with django_assert_max_num_queries(14) as few:
        client.get(url)
    service = ServiceFactory(structure=jobs["structure"])
    for _ in range(15):
        make_jobs(service, funder=jobs["city"])
        make_jobs(jobs["service"], funder=jobs["landlord"])
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = client.get(url)
    assert len(response.context["page"].object_list) == 31
