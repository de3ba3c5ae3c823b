from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "lien.notifications"
    label = "notifications"
    verbose_name = "Notifications"
