"""The full export of a structure's data (/exports/structure/…): ask, follow, download.

For the structure's coordination only; another structure's export is a 404.
"""

from django.contrib import messages
from django.http import FileResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_safe

from lien.core.models import Role
from lien.core.permissions import role_required
from lien.core.retention import period
from lien.core.signals import client_ip
from lien.exchange import exports


@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
@role_required(Role.COORDINATOR)
def structure_export_list(request):
    """The structure's exports, and the button that asks for a new one."""
    if request.method == "POST":
        state = exports.structure_export_request(actor=request.membership, ip=client_ip(request))
        messages.success(
            request,
            "Export demandé : il se prépare en arrière-plan, cette page suit son avancement.",
        )
        return redirect("exports:structure_export_detail", pk=state["id"])
    return render(
        request,
        "exchange/structure_export_list.html",
        {
            "jobs": exports.structure_exports(actor=request.membership),
            "record_types": exports.RECORD_TYPES,
            "keep_days": period("structure_exports_days"),
        },
    )


@never_cache
@require_safe
@role_required(Role.COORDINATOR)
def structure_export_detail(request, pk):
    """One export's progress (refreshed by htmx while it runs) and its download link."""
    job = exports.structure_export_state(actor=request.membership, export_id=pk)
    template = (
        "exchange/partials/structure_export_progress.html"
        if request.htmx
        else "exchange/structure_export_detail.html"
    )
    return render(request, template, {"job": job, "now": timezone.now()})


@never_cache
@require_safe
@role_required(Role.COORDINATOR)
def structure_export_download(request, pk):
    path = exports.structure_export_download(
        actor=request.membership, export_id=pk, ip=client_ip(request)
    )
    name = f"lien-export-structure-{timezone.localdate().isoformat()}.zip"
    return FileResponse(
        path.open("rb"), as_attachment=True, filename=name, content_type="application/zip"
    )
