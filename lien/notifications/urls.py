from django.urls import path

from lien.notifications import views

app_name = "notifications"

urlpatterns = [
    path("notifications/", views.notification_list, name="notification_list"),
    path("notifications/tout-lire/", views.notification_read_all, name="notification_read_all"),
    path("notifications/<uuid:pk>/lue/", views.notification_read, name="notification_read"),
]
