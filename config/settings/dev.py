"""Developer machine and `make demo`: DEBUG on, console e-mail, a throw-away secret."""

import os

os.environ.setdefault("SECRET_KEY", "dev-only-not-secret-" + "x" * 40)
os.environ.setdefault("DEBUG", "1")
os.environ.setdefault("ALLOWED_HOSTS", "127.0.0.1,localhost,[::1]")
os.environ.setdefault("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")

from config.settings.base import *

STORAGES["staticfiles"] = {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}
