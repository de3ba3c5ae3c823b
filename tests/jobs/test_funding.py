"""Funding lines: exactly one object, and the alert on posts whose funding ends with no
line to take over."""

import datetime
import io
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction

from lien.jobs import services
from lien.jobs.models import Funding, PostStatus
from lien.jobs.queries import add_months, posts_with_funding_ending
from tests.jobs.factories import funding_program, make_funding, make_post, project_stage

D = datetime.date
TODAY = D(2026, 3, 15)  # + 6 months: 15 September 2026


def line_data(jobs, **target) -> dict:
    data = {
        "funder": jobs["city"],
        "program": funding_program(),
        "amount": Decimal("18000.50"),
        "starts_on": D(2026, 1, 1),
        "ends_on": D(2026, 12, 31),
        "stage": project_stage(),
        "post": None,
        "service": None,
        "structure": None,
    }
    data.update(target)
    return data


# --- pooled funding: funders split a post's cost by share --------------------------------


def test_funders_split_a_pooled_post_up_to_100_percent(jobs):
    post = make_post(jobs["service"], title="Poste mutualisé")

    def line(share, funder, **dates):
        return services.funding_create(
            actor=jobs["coordinator"],
            holder=jobs["structure"],
            data=line_data(jobs, post=post, share=Decimal(share), funder=funder, **dates),
        )

    line("60", jobs["city"])
    line("40", jobs["landlord"])
    with pytest.raises(ValidationError) as caught:
        line("10", jobs["city"])
    assert caught.value.message_dict["share"] == [
        "Les financements de ce poste sur la même période en couvrent déjà 100 % : "
        "il reste 0 % à répartir."
    ]
    # The next year is split afresh.
    line("70", jobs["city"], starts_on=D(2027, 1, 1), ends_on=D(2027, 12, 31))
    assert Funding.objects.filter(post=post).count() == 3
    # Raising a share past what is left is refused too.
    first = Funding.objects.get(post=post, share=Decimal("60"))
    with pytest.raises(ValidationError):
        services.funding_update(
            actor=jobs["coordinator"], funding=first, data={"share": Decimal("61")}
        )


# --- one object --------------------------------------------------------------------------


@pytest.mark.parametrize("target", ["post", "service", "structure"])
def test_a_line_funds_a_post_a_service_or_the_structure(jobs, target):
    objects = {
        "post": jobs["a"]["post"],
        "service": jobs["service"],
        "structure": jobs["structure"],
    }
    line = services.funding_create(
        actor=jobs["coordinator"],
        holder=jobs["structure"],
        data=line_data(jobs, **{target: objects[target]}),
    )
    assert line.target == objects[target]


@pytest.mark.parametrize(
    "targets", [{}, {"post": "post", "service": "service"}, {"post": "post", "structure": "s"}]
)
def test_a_line_with_no_object_or_two_is_refused(jobs, targets):
    objects = {"post": jobs["a"]["post"], "service": jobs["service"], "s": jobs["structure"]}
    data = line_data(jobs, **{name: objects[key] for name, key in targets.items()})
    with pytest.raises(ValidationError) as exc:
        services.funding_create(actor=jobs["coordinator"], holder=jobs["structure"], data=data)
    assert "un seul objet" in " ".join(exc.value.messages)


def test_the_database_refuses_two_objects_too(jobs):
    with pytest.raises(IntegrityError), transaction.atomic():
        Funding.objects.create(
            holder=jobs["structure"],
            **line_data(jobs, post=jobs["a"]["post"], service=jobs["service"]),
        )


def test_a_line_cannot_fund_another_structures_post(jobs):
    with pytest.raises(ValidationError) as exc:
        services.funding_create(
            actor=jobs["coordinator"],
            holder=jobs["structure"],
            data=line_data(jobs, post=jobs["b"]["post"]),
        )
    assert "post" in exc.value.message_dict


def test_a_period_that_ends_before_it_starts_is_refused(jobs):
    with pytest.raises(ValidationError) as exc:
        services.funding_create(
            actor=jobs["coordinator"],
            holder=jobs["structure"],
            data=line_data(jobs, post=jobs["a"]["post"], ends_on=D(2025, 12, 31)),
        )
    assert exc.value.message_dict["ends_on"] == ["La fin de la période doit suivre son début."]


@pytest.mark.parametrize("actor", ["mediator", "coordinator_b", "city_member", "steering"])
def test_only_the_coordination_writes_funding(jobs, actor):
    with pytest.raises(PermissionDenied):
        services.funding_create(
            actor=jobs[actor],
            holder=jobs["structure"],
            data=line_data(jobs, post=jobs["a"]["post"]),
        )
    with pytest.raises(PermissionDenied):
        services.funding_update(
            actor=jobs[actor], funding=jobs["a"]["funding"], data={"amount": Decimal("1")}
        )


# --- alerts ------------------------------------------------------------------------------


def test_add_months_keeps_the_day_or_takes_the_months_last():
    assert add_months(D(2026, 3, 15), 6) == D(2026, 9, 15)
    assert add_months(D(2026, 8, 31), 6) == D(2027, 2, 28)
    assert add_months(D(2027, 8, 31), 6) == D(2028, 2, 29)
    assert add_months(D(2026, 11, 30), 1) == D(2026, 12, 30)


@pytest.fixture
def alert_post(jobs):
    return make_post(jobs["service"], title="Poste financé")


def alerts(jobs, months=6, today=TODAY):
    return list(posts_with_funding_ending([jobs["structure"].pk], today, months))


@pytest.mark.parametrize(
    ("ends_on", "alerted"),
    [
        (D(2026, 3, 14), False),  # already ended yesterday
        (D(2026, 3, 15), True),  # ends today
        (D(2026, 9, 15), True),  # ends exactly N months from today
        (D(2026, 9, 16), False),  # one day too late to be alerted
    ],
)
def test_a_line_ending_within_n_months_is_alerted(jobs, alert_post, ends_on, alerted):
    make_funding(alert_post, jobs["city"], starts_on=D(2025, 1, 1), ends_on=ends_on)
    found = alerts(jobs)
    assert (alert_post in found) is alerted
    if alerted:
        assert found[found.index(alert_post)].funding_ends_on == ends_on


@pytest.mark.parametrize(
    ("starts_on", "ends_on", "alerted"),
    [
        (D(2026, 7, 1), D(2027, 6, 30), False),  # starts the day after: takes over
        (D(2026, 6, 30), D(2027, 6, 30), False),  # starts on the last day
        (D(2026, 1, 1), D(2026, 12, 31), False),  # overlaps and ends later
        (D(2026, 7, 2), D(2027, 6, 30), True),  # a one-day gap
        (D(2026, 1, 1), D(2026, 6, 30), True),  # ends the same day: no later line
        (D(2027, 1, 1), D(2027, 12, 31), True),  # much later
    ],
)
def test_a_later_line_that_takes_over_silences_the_alert(
    jobs, alert_post, starts_on, ends_on, alerted
):
    make_funding(alert_post, jobs["city"], starts_on=D(2025, 7, 1), ends_on=D(2026, 6, 30))
    make_funding(alert_post, jobs["landlord"], starts_on=starts_on, ends_on=ends_on)
    assert (alert_post in alerts(jobs)) is alerted


def test_the_horizon_follows_n(jobs, alert_post):
    make_funding(alert_post, jobs["city"], starts_on=D(2025, 1, 1), ends_on=D(2026, 5, 20))
    assert alert_post not in alerts(jobs, months=2, today=D(2026, 3, 15))
    assert alert_post in alerts(jobs, months=2, today=D(2026, 3, 20))


def test_closed_posts_and_other_structures_are_not_alerted(jobs, alert_post):
    make_funding(alert_post, jobs["city"], starts_on=D(2025, 1, 1), ends_on=D(2026, 4, 1))
    other = make_post(jobs["service_b"])
    make_funding(other, jobs["landlord"], starts_on=D(2025, 1, 1), ends_on=D(2026, 4, 1))
    assert alerts(jobs) == [alert_post]
    alert_post.status = PostStatus.CLOSED
    alert_post.save()
    assert alerts(jobs) == []


def test_a_post_is_listed_once_with_its_earliest_unreplaced_end(jobs, alert_post):
    make_funding(alert_post, jobs["city"], starts_on=D(2025, 1, 1), ends_on=D(2026, 4, 30))
    make_funding(alert_post, jobs["landlord"], starts_on=D(2025, 1, 1), ends_on=D(2026, 8, 31))
    [found] = alerts(jobs)
    # The city's line ends first, and the landlord's (started before) does not take over
    # after its own end: the earliest end is April's only if not replaced — it is, by the
    # landlord's line, so the alert is for the end of August.
    assert found.funding_ends_on == D(2026, 8, 31)


def test_the_coordination_is_warned_once_per_end_of_funding(jobs, alert_post):
    from django.core.management import call_command

    from lien.jobs.services import funding_alerts_notify
    from lien.notifications.models import Notification

    line = make_funding(alert_post, jobs["city"], starts_on=D(2025, 1, 1), ends_on=D(2026, 5, 31))
    other = make_post(jobs["service_b"], title="Poste de B")
    make_funding(other, jobs["landlord"], starts_on=D(2025, 1, 1), ends_on=D(2026, 5, 31))
    before = {p.pk for p in alerts(jobs)}
    assert funding_alerts_notify(today=TODAY) == 2  # A's and B's posts, each to its own
    warned = Notification.objects.filter(kind="funding_ending")
    mine = warned.get(recipient=jobs["coordinator"].user)
    assert "Poste financé" in mine.title and "31/05/2026" in mine.body
    assert mine.url == f"/emplois/postes/{alert_post.pk}/"
    assert not warned.filter(recipient=jobs["mediator"].user).exists()  # coordination only
    assert "Poste de B" not in " ".join(
        warned.filter(recipient=jobs["coordinator"].user).values_list("title", flat=True)
    )
    # Once per end date: the next day's run says nothing again.
    assert funding_alerts_notify(today=TODAY + datetime.timedelta(days=1)) == 0
    # A line that moves the end (with a gap) makes a new warning due for the new date.
    line.ends_on = D(2026, 6, 30)
    line.save()
    assert funding_alerts_notify(today=TODAY + datetime.timedelta(days=2)) == 1
    assert warned.filter(recipient=jobs["coordinator"].user).count() == 2
    assert {p.pk for p in alerts(jobs)} == before  # the page's list is the same query
    out = io.StringIO()
    call_command("jobs_daily", stdout=out)
    assert "Alertes de financement envoyées" in out.getvalue()
