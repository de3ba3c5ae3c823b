import pytest
from django.core.management import call_command
from django.test import Client

from lien.core.models import Membership, Role, User
from lien.structures.models import Organisation, Service, Structure

pytestmark = pytest.mark.django_db

FIXED = [
    "mediateur@demo.lien.test",
    "coordination@demo.lien.test",
    "mediateur2@demo.lien.test",
    "financeur@demo.lien.test",
    "partenaire@demo.lien.test",
    "pilotage@demo.lien.test",
    "admin@demo.lien.test",
]


@pytest.fixture
def demo(capsys):
    call_command("load_referentiel", verbosity=0)
    call_command("demo", "--scale", "1", "--months", "1")
    return capsys.readouterr().out


def test_demo_builds_a_believable_region(demo):
    assert Structure.objects.count() == 5
    assert Structure.objects.values("employer_type__code").distinct().count() == 5, (
        "five different employer types"
    )
    assert Service.objects.count() >= 5
    assert Organisation.objects.funders().count() >= 5
    assert Organisation.objects.partners().count() >= 5
    for structure in Structure.objects.all():
        team = Membership.objects.filter(structure=structure, role=Role.MEDIATOR).count()
        assert 8 <= team <= 13, structure
    for email in FIXED:
        assert email in demo
    assert "demo-lien-2026" in demo


def test_fixed_accounts_have_the_documented_roles(demo):
    def role_of(email):
        return Membership.objects.get(user__email=email)

    mediator, coordinator = role_of(FIXED[0]), role_of(FIXED[1])
    assert (mediator.role, coordinator.role) == (Role.MEDIATOR, Role.COORDINATOR)
    assert mediator.structure == coordinator.structure
    other = role_of("mediateur2@demo.lien.test")
    assert other.structure != mediator.structure
    assert role_of("financeur@demo.lien.test").role == Role.FUNDER
    assert role_of("partenaire@demo.lien.test").role == Role.PARTNER
    steering = role_of("pilotage@demo.lien.test")
    assert (steering.role, steering.territory.code) == (Role.STEERING, "32")
    assert role_of("admin@demo.lien.test").role == Role.ADMIN
    # the funder sees only what it commissions
    funder = role_of("financeur@demo.lien.test")
    visible = Structure.objects.visible_to(funder)
    assert 0 < visible.count() < Structure.objects.count()


def test_rerunning_the_demo_creates_no_duplicates(demo):
    counts = (Structure.objects.count(), Service.objects.count(), User.objects.count())
    call_command("demo", "--scale", "1", "--months", "1")
    assert counts == (Structure.objects.count(), Service.objects.count(), User.objects.count())


def test_demo_logins_work_only_when_enabled(demo, settings):
    credentials = {"username": "coordination@demo.lien.test", "password": "demo-lien-2026"}
    settings.LIEN_DEMO_LOGINS_ENABLED = False
    refused = Client().post("/accounts/login/", credentials)
    assert refused.status_code == 200
    assert "_auth_user_id" not in refused.client.session
    settings.LIEN_DEMO_LOGINS_ENABLED = True
    accepted = Client().post("/accounts/login/", credentials)
    assert accepted.status_code == 302
    assert "_auth_user_id" in accepted.client.session


def test_larger_scale_adds_structures(capsys):
    call_command("load_referentiel", verbosity=0)
    call_command("demo", "--scale", "2", "--months", "0")
    assert Structure.objects.count() == 10


def test_demo_activity_is_plausible_and_rolled_up(demo):
    from lien.indicators.rollups import differences
    from lien.logbook.models import Intervention

    assert Intervention.objects.count() > 1000
    # every generated entry respects its activity's fields
    for intervention in Intervention.objects.select_related("activity_type")[:500]:
        fields = set(intervention.activity_type.entry_fields)
        if "timing" not in fields:
            assert intervention.timing == ""
        if "outcome" not in fields:
            assert intervention.outcome_id is None
    assert all(not lines for lines in differences().values())


def test_demo_jobs_show_posts_a_pooled_post_and_a_funding_alert(demo, settings):
    from django.utils import timezone

    from lien.jobs.models import Contract, Post, PostShare
    from lien.jobs.queries import posts_with_funding_ending

    structure = Structure.objects.get(name__startswith="Trait d'Union")
    assert Post.objects.filter(structure=structure).count() == 4
    assert PostShare.objects.filter(post__structure=structure).count() == 2
    assert (
        Contract.objects.filter(
            post__structure=structure, contract_type__code="adulte-relais"
        ).count()
        == 2
    )
    alerts = list(posts_with_funding_ending([structure.pk], timezone.localdate(), 6))
    assert [p.title for p in alerts] == ["Adulte-relais — médiation de proximité"]
    settings.LIEN_DEMO_LOGINS_ENABLED = True
    client = Client()
    client.force_login(User.objects.get(email="coordination@demo.lien.test"))
    page = client.get("/emplois/")
    assert page.status_code == 200
    assert "Adulte-relais — médiation de proximité" in page.content.decode()
    posts = Post.objects.count()
    call_command("demo", "--scale", "1", "--months", "1")
    assert Post.objects.count() == posts


def test_demo_steering_ships_the_seeds_agreement_and_a_live_observatory(demo):
    from lien.steering.models import Decision, FrameworkAgreement, SteeringMeeting
    from lien.steering.queries import observatory

    seeds = FrameworkAgreement.objects.get(title__contains="Nord-Pas de Calais 2013–2015")
    assert seeds.job_target == 3000
    assert (seeds.starts_on.year, seeds.ends_on.year) == (2013, 2015)
    plan = FrameworkAgreement.objects.exclude(pk=seeds.pk).get()
    assert plan.experiments.count() == 2
    assert SteeringMeeting.objects.filter(agreement=plan).count() == 4
    assert Decision.objects.filter(meeting__agreement=plan, status="open").exists()
    figures = observatory(plan, protected=False)
    # Every demo structure hires: one post per team member, plus Trait d'Union's own.
    assert int(figures.total) >= 30
    assert figures.timeline and figures.breakdowns
    posts = len(FrameworkAgreement.objects.all())
    call_command("demo", "--scale", "1", "--months", "1")
    assert len(FrameworkAgreement.objects.all()) == posts
