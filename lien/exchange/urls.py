from django.urls import path

from lien.exchange import views

app_name = "exchange"

urlpatterns = [
    path("", views.token_list, name="token_list"),
    path("<uuid:pk>/revoquer/", views.token_revoke, name="apitoken_revoke"),
]
