from django.urls import path

from lien.exchange import opendata_views

app_name = "opendata"

urlpatterns = [
    path("", opendata_views.open_data, name="open_data"),
    path("<str:name>", opendata_views.open_data_file, name="open_data_file"),
]
