from django.urls import path

from lien.indicators import dashboards, views

app_name = "indicators"

urlpatterns = [
    path("tableaux-de-bord/mon-mois/", views.my_month, name="my_month"),
    *[
        path(
            f"tableaux-de-bord/{slug}/" if slug else "tableaux-de-bord/",
            views.dashboard_view(code),
            name="dashboard" if code == "overview" else f"dashboard_{code}",
        )
        for code, (slug, _) in dashboards.DASHBOARDS.items()
    ],
]
