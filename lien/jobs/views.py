"""Pages of posts, mediators, contracts and funding lines (/emplois/…).

Reads go through `visible_to(membership)`: an object out of reach is a 404. Writes are
for the coordination of the employer structure (checked here to answer early, and again
in the services).
"""

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Count, Max, Q, Sum
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_safe

from lien.core.forms import apply_service, form_page
from lien.core.models import Role
from lien.core.permissions import can_manage_structure, role_required
from lien.core.tabular import export_format, export_list, querystring_for_export
from lien.jobs import exports, forms, services
from lien.jobs.models import (
    Contract,
    Funding,
    Mediator,
    Post,
    PostStatus,
    PracticeReview,
    Training,
)
from lien.jobs.queries import posts_with_funding_ending
from lien.structures.models import Structure

READERS = (Role.MEDIATOR, Role.COORDINATOR, Role.FUNDER, Role.ADMIN)
STRUCTURE = (Role.MEDIATOR, Role.COORDINATOR)
MANAGE_REFUSED = "Seule la coordination de la structure employeuse peut modifier ses emplois."


def _require_manage(request, structure) -> None:
    if not can_manage_structure(request.membership, structure):
        raise PermissionDenied(_(MANAGE_REFUSED))


def _own_structure(request) -> Structure:
    """The structure a coordinator creates records in (administrators use the admin)."""
    membership = request.membership
    if membership.role != Role.COORDINATOR:
        raise PermissionDenied(_(MANAGE_REFUSED))
    return membership.structure


# --- posts ---------------------------------------------------------------------------------


@require_safe
@role_required(*READERS)
def post_list(request):
    membership = request.membership
    posts = Post.objects.visible_to(membership)
    totals = posts.aggregate(
        posts=Count("pk"),
        total_fte=Sum("fte"),
        filled_fte=Sum("fte", filter=Q(status=PostStatus.FILLED)),
        open_fte=Sum("fte", filter=Q(status=PostStatus.OPEN)),
    )
    rows = (
        posts.select_related("structure", "service")
        .annotate(
            pooled=Count("shares", distinct=True),
            funded_until=Max("funding_lines__ends_on"),
        )
        .order_by("structure__name", "title", "pk")
    )
    all_funding_lines = (
        Funding.objects.visible_to(membership)
        .select_related("funder", "program", "post", "service", "structure", "holder")
        .order_by("-ends_on", "pk")
    )
    if fmt := export_format(request):
        if request.GET.get("tableau") == "financements":
            return export_list(
                request,
                queryset=all_funding_lines,
                columns=exports.FUNDING_COLUMNS,
                name="financements",
                what="lignes de financement",
                fmt=fmt,
                sheet="Financements",
            )
        return export_list(
            request,
            queryset=rows,
            columns=exports.POST_COLUMNS,
            name="postes",
            what="postes",
            fmt=fmt,
            sheet="Postes",
        )
    page = Paginator(rows, 50).get_page(request.GET.get("page"))
    months = settings.LIEN_FUNDING_ALERT_MONTHS
    alerts = posts_with_funding_ending(
        posts.values("structure_id"), timezone.localdate(), months
    ).filter(pk__in=posts.values("pk"))
    funding_lines = all_funding_lines[:100]
    return render(
        request,
        "jobs/post_list.html",
        {
            "page": page,
            "funding_lines": funding_lines,
            "totals": totals,
            "alerts": alerts.select_related("structure"),
            "alert_months": months,
            "can_create": membership.role == Role.COORDINATOR,
            "sees_people": membership.role in STRUCTURE,
            "export_query": querystring_for_export(request),
        },
    )


@require_safe
@role_required(*READERS)
def post_detail(request, pk):
    membership = request.membership
    post = get_object_or_404(
        Post.objects.visible_to(membership).select_related("structure", "service"), pk=pk
    )
    contracts = (
        Contract.objects.visible_to(membership)
        .filter(post=post)
        .select_related("mediator", "contract_type")
    )
    funding_lines = (
        Funding.objects.visible_to(membership)
        .filter(post=post)
        .select_related("funder", "program", "stage")
    )
    return render(
        request,
        "jobs/post_detail.html",
        {
            "post": post,
            "shares": post.shares.select_related("beneficiary"),
            "contracts": contracts,
            "funding_lines": funding_lines,
            "can_manage": can_manage_structure(membership, post.structure),
            "sees_people": (
                membership.role in STRUCTURE and membership.structure_id == post.structure_id
            )
            or membership.role == Role.ADMIN,
        },
    )


@role_required(Role.COORDINATOR)
def post_create(request):
    structure = _own_structure(request)
    form = forms.PostForm(
        request.POST or None, structure=structure, instance=Post(structure=structure)
    )
    if request.method == "POST" and form.is_valid():
        data = {name: form.cleaned_data[name] for name in form.Meta.fields}
        post = apply_service(
            form,
            lambda: services.post_create(actor=request.membership, structure=structure, data=data),
        )
        if post:
            return redirect("jobs:post_detail", pk=post.pk)
    return form_page(request, form, title=_("Nouveau poste"), cancel_url=reverse("jobs:post_list"))


@role_required(Role.COORDINATOR, Role.ADMIN)
def post_edit(request, pk):
    post = get_object_or_404(
        Post.objects.visible_to(request.membership).select_related("structure"), pk=pk
    )
    _require_manage(request, post.structure)
    form = forms.PostForm(
        request.POST or None, structure=post.structure, instance=Post.objects.get(pk=post.pk)
    )
    if request.method == "POST" and form.is_valid():
        data = {name: form.cleaned_data[name] for name in form.Meta.fields}
        if apply_service(
            form, lambda: services.post_update(actor=request.membership, post=post, data=data)
        ):
            return redirect("jobs:post_detail", pk=post.pk)
    return form_page(
        request,
        form,
        title=_("Modifier le poste « %(title)s »") % {"title": post.title},
        cancel_url=reverse("jobs:post_detail", kwargs={"pk": post.pk}),
    )


@role_required(Role.COORDINATOR, Role.ADMIN)
def post_shares(request, pk):
    post = get_object_or_404(
        Post.objects.visible_to(request.membership).select_related("structure"), pk=pk
    )
    _require_manage(request, post.structure)
    initial = {}
    for row, share in enumerate(post.shares.select_related("beneficiary"), start=1):
        initial[f"siret_{row}"] = share.beneficiary.siret
        initial[f"share_{row}"] = share.share
    form = forms.PostSharesForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        done = apply_service(
            form,
            lambda: (
                services.post_shares_set(actor=request.membership, post=post, shares=form.shares)
                or True
            ),
        )
        if done:
            return redirect("jobs:post_detail", pk=post.pk)
    return form_page(
        request,
        form,
        title=_("Répartition du poste mutualisé « %(title)s »") % {"title": post.title},
        intro=_(
            "Un poste mutualisé est porté par la structure employeuse pour plusieurs "
            "structures bénéficiaires : leurs parts du temps font 100 % au total. Laissez "
            "toutes les lignes vides pour un poste qui n'est pas mutualisé."
        ),
        cancel_url=reverse("jobs:post_detail", kwargs={"pk": post.pk}),
    )


# --- mediators -----------------------------------------------------------------------------


@require_safe
@role_required(*STRUCTURE)
def mediator_list(request):
    mediators = (
        Mediator.objects.visible_to(request.membership)
        .annotate(
            active_contracts=Count(
                "contracts",
                filter=Q(contracts__ends_on__isnull=True)
                | Q(contracts__ends_on__gte=timezone.localdate()),
            )
        )
        .order_by("last_name", "first_name", "pk")
    )
    if fmt := export_format(request):
        return export_list(
            request,
            queryset=mediators,
            columns=exports.MEDIATOR_COLUMNS,
            name="personnes-employees",
            what="personnes employées",
            fmt=fmt,
            sheet="Personnes employées",
            nominative=True,
        )
    page = Paginator(mediators, 50).get_page(request.GET.get("page"))
    return render(
        request,
        "jobs/mediator_list.html",
        {
            "page": page,
            "can_create": request.membership.role == Role.COORDINATOR,
            "export_query": querystring_for_export(request),
        },
    )


@role_required(Role.COORDINATOR)
def mediator_create(request):
    structure = _own_structure(request)
    form = forms.MediatorForm(
        request.POST or None, structure=structure, instance=Mediator(structure=structure)
    )
    if request.method == "POST" and form.is_valid():
        data = {name: form.cleaned_data[name] for name in form.Meta.fields}
        if apply_service(
            form,
            lambda: services.mediator_create(
                actor=request.membership, structure=structure, data=data
            ),
        ):
            return redirect("jobs:mediator_list")
    return form_page(
        request,
        form,
        title=_("Nouvelle personne employée"),
        intro=_("Le strict nécessaire : ces données ne sont visibles que de votre structure."),
        cancel_url=reverse("jobs:mediator_list"),
    )


@role_required(Role.COORDINATOR, Role.ADMIN)
def mediator_edit(request, pk):
    mediator = get_object_or_404(
        Mediator.objects.visible_to(request.membership).select_related("structure"), pk=pk
    )
    _require_manage(request, mediator.structure)
    form = forms.MediatorForm(
        request.POST or None,
        structure=mediator.structure,
        instance=Mediator.objects.get(pk=mediator.pk),
    )
    if request.method == "POST" and form.is_valid():
        data = {name: form.cleaned_data[name] for name in form.Meta.fields}
        if apply_service(
            form,
            lambda: services.mediator_update(
                actor=request.membership, mediator=mediator, data=data
            ),
        ):
            return redirect("jobs:mediator_list")
    return form_page(
        request,
        form,
        title=_("Modifier %(name)s") % {"name": mediator.full_name},
        cancel_url=reverse("jobs:mediator_list"),
    )


# --- contracts -----------------------------------------------------------------------------


@role_required(Role.COORDINATOR, Role.ADMIN)
def contract_create(request, post_pk):
    post = get_object_or_404(
        Post.objects.visible_to(request.membership).select_related("structure"), pk=post_pk
    )
    _require_manage(request, post.structure)
    form = forms.ContractForm(
        request.POST or None,
        structure=post.structure,
        instance=Contract(post=post),
        initial={"fte": post.fte, "starts_on": timezone.localdate()},
    )
    if request.method == "POST" and form.is_valid():
        data = {name: form.cleaned_data[name] for name in form.Meta.fields}
        if apply_service(
            form,
            lambda: services.contract_create(actor=request.membership, post=post, data=data),
        ):
            return redirect("jobs:post_detail", pk=post.pk)
    return form_page(
        request,
        form,
        title=_("Nouveau contrat sur le poste « %(title)s »") % {"title": post.title},
        cancel_url=reverse("jobs:post_detail", kwargs={"pk": post.pk}),
    )


@role_required(Role.COORDINATOR, Role.ADMIN)
def contract_edit(request, pk):
    contract = get_object_or_404(
        Contract.objects.visible_to(request.membership).select_related("post__structure"), pk=pk
    )
    post = contract.post
    _require_manage(request, post.structure)
    form = forms.ContractForm(
        request.POST or None,
        structure=post.structure,
        instance=Contract.objects.select_related("post", "contract_type").get(pk=contract.pk),
    )
    if request.method == "POST" and form.is_valid():
        data = {name: form.cleaned_data[name] for name in form.Meta.fields}
        if apply_service(
            form,
            lambda: services.contract_update(
                actor=request.membership, contract=contract, data=data
            ),
        ):
            return redirect("jobs:post_detail", pk=post.pk)
    return form_page(
        request,
        form,
        title=_("Modifier le contrat sur le poste « %(title)s »") % {"title": post.title},
        cancel_url=reverse("jobs:post_detail", kwargs={"pk": post.pk}),
    )


# --- funding -------------------------------------------------------------------------------


@role_required(Role.COORDINATOR)
def funding_create(request):
    structure = _own_structure(request)
    initial = {}
    wanted = request.GET.get("poste", "")
    if wanted:
        initial["post"] = (
            Post.objects.filter(structure=structure, pk__in=_uuids([wanted]))
            .values_list("pk", flat=True)
            .first()
        )
    form = forms.FundingForm(request.POST or None, structure=structure, initial=initial)
    if request.method == "POST" and form.is_valid():
        funding = apply_service(
            form,
            lambda: services.funding_create(
                actor=request.membership, holder=structure, data=form.funding_data()
            ),
        )
        if funding:
            return redirect(_after_funding(funding))
    return form_page(
        request,
        form,
        title=_("Nouvelle ligne de financement"),
        cancel_url=reverse("jobs:post_list"),
    )


@role_required(Role.COORDINATOR, Role.ADMIN)
def funding_edit(request, pk):
    funding = get_object_or_404(
        Funding.objects.visible_to(request.membership).select_related("holder"), pk=pk
    )
    _require_manage(request, funding.holder)
    form = forms.FundingForm(
        request.POST or None, structure=funding.holder, instance=Funding.objects.get(pk=pk)
    )
    if request.method == "POST" and form.is_valid():
        done = apply_service(
            form,
            lambda: services.funding_update(
                actor=request.membership, funding=funding, data=form.funding_data()
            ),
        )
        if done:
            return redirect(_after_funding(funding))
    return form_page(
        request,
        form,
        title=_("Modifier la ligne de financement"),
        cancel_url=_after_funding(funding),
    )


# --- professionalisation -------------------------------------------------------------------


@require_safe
@role_required(*STRUCTURE)
def training_list(request):
    membership = request.membership
    trainings = (
        Training.objects.visible_to(membership)
        .select_related("mediator")
        .order_by("-starts_on", "pk")
    )
    all_reviews = (
        PracticeReview.objects.visible_to(membership)
        .annotate(attendance=Count("attendees"))
        .order_by("-held_on", "pk")
    )
    if fmt := export_format(request):
        if request.GET.get("tableau") == "analyses":
            return export_list(
                request,
                queryset=all_reviews,
                columns=exports.PRACTICE_REVIEW_COLUMNS,
                name="analyses-de-pratiques",
                what="analyses de pratiques",
                fmt=fmt,
                sheet="Analyses de pratiques",
            )
        return export_list(
            request,
            queryset=trainings,
            columns=exports.TRAINING_COLUMNS,
            name="formations",
            what="formations",
            fmt=fmt,
            sheet="Formations",
            nominative=True,
        )
    reviews = all_reviews[:50]
    return render(
        request,
        "jobs/training_list.html",
        {
            "page": Paginator(trainings, 50).get_page(request.GET.get("page")),
            "hours": trainings.aggregate(total=Sum("hours"))["total"],
            "reviews": reviews,
            "can_create": membership.role == Role.COORDINATOR,
            "export_query": querystring_for_export(request),
        },
    )


@role_required(Role.COORDINATOR)
def training_create(request):
    structure = _own_structure(request)
    form = forms.TrainingForm(request.POST or None, structure=structure)
    if request.method == "POST" and form.is_valid():
        data = {name: form.cleaned_data[name] for name in form.Meta.fields}
        mediator = data.pop("mediator")
        done = apply_service(
            form,
            lambda: services.training_create(
                actor=request.membership, mediator=mediator, data=data
            ),
        )
        if done:
            return redirect("jobs:training_list")
    return form_page(
        request, form, title=_("Nouvelle formation"), cancel_url=reverse("jobs:training_list")
    )


@role_required(Role.COORDINATOR, Role.ADMIN)
def training_edit(request, pk):
    training = get_object_or_404(
        Training.objects.visible_to(request.membership).select_related("mediator__structure"),
        pk=pk,
    )
    structure = training.mediator.structure
    _require_manage(request, structure)
    form = forms.TrainingForm(
        request.POST or None, structure=structure, instance=Training.objects.get(pk=pk)
    )
    if request.method == "POST" and form.is_valid():
        data = {name: form.cleaned_data[name] for name in form.Meta.fields}
        done = apply_service(
            form,
            lambda: services.training_update(
                actor=request.membership, training=training, data=data
            ),
        )
        if done:
            return redirect("jobs:training_list")
    return form_page(
        request, form, title=_("Modifier la formation"), cancel_url=reverse("jobs:training_list")
    )


@role_required(Role.COORDINATOR)
def practice_review_create(request):
    structure = _own_structure(request)
    form = forms.PracticeReviewForm(
        request.POST or None, structure=structure, initial={"held_on": timezone.localdate()}
    )
    if request.method == "POST" and form.is_valid():
        data = {
            name: form.cleaned_data[name] for name in ("held_on", "facilitator", "duration_minutes")
        }
        done = apply_service(
            form,
            lambda: services.practice_review_create(
                actor=request.membership,
                structure=structure,
                data=data,
                attendees=form.cleaned_data["attendees"],
            ),
        )
        if done:
            return redirect("jobs:training_list")
    return form_page(
        request,
        form,
        title=_("Nouvelle séance d'analyse de pratiques"),
        cancel_url=reverse("jobs:training_list"),
    )


@role_required(Role.COORDINATOR, Role.ADMIN)
def practice_review_edit(request, pk):
    review = get_object_or_404(
        PracticeReview.objects.visible_to(request.membership).select_related("structure"), pk=pk
    )
    _require_manage(request, review.structure)
    form = forms.PracticeReviewForm(
        request.POST or None,
        structure=review.structure,
        instance=PracticeReview.objects.get(pk=pk),
    )
    if request.method == "POST" and form.is_valid():
        data = {
            name: form.cleaned_data[name] for name in ("held_on", "facilitator", "duration_minutes")
        }
        done = apply_service(
            form,
            lambda: services.practice_review_update(
                actor=request.membership,
                review=review,
                data=data,
                attendees=form.cleaned_data["attendees"],
            ),
        )
        if done:
            return redirect("jobs:training_list")
    return form_page(
        request,
        form,
        title=_("Modifier la séance d'analyse de pratiques"),
        cancel_url=reverse("jobs:training_list"),
    )


def _after_funding(funding: Funding) -> str:
    if funding.post_id:
        return reverse("jobs:post_detail", kwargs={"pk": funding.post_id})
    return reverse("jobs:post_list")


def _uuids(values):
    import uuid

    out = []
    for value in values:
        try:
            out.append(uuid.UUID(str(value)))
        except ValueError:
            continue
    return out
