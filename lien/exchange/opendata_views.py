"""The published open data set, for anyone (no account): /donnees-ouvertes/.

Only what `manage.py export_open_data --publish` wrote is served, by the fixed names of
its files; the figures are aggregates protected by small-cell suppression when they are
built, so the page adds no check of its own."""

from django.http import FileResponse, Http404
from django.shortcuts import render
from django.views.decorators.http import require_safe

from lien.exchange import opendata

CONTENT_TYPES = {".csv": "text/csv; charset=utf-8", ".json": "application/json; charset=utf-8"}


@require_safe
def open_data(request):
    return render(request, "exchange/open_data.html", {"published": opendata.published()})


@require_safe
def open_data_file(request, name: str):
    path = opendata.published_file(name)
    if path is None:
        raise Http404("Ce fichier n'est pas publié.")
    response = FileResponse(
        path.open("rb"),
        content_type=CONTENT_TYPES[path.suffix],
        as_attachment=path.suffix == ".csv",
        filename=name,
    )
    # Open data: any site may read it; it changes at most once a day.
    response["Access-Control-Allow-Origin"] = "*"
    response["Cache-Control"] = "public, max-age=3600"
    return response
