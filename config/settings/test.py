"""Test run: fast hashing, in-memory e-mail, same database choice as everywhere else."""

import os

os.environ.setdefault("SECRET_KEY", "test-only-not-secret-" + "x" * 40)
os.environ.setdefault("DEBUG", "0")
os.environ.setdefault("ALLOWED_HOSTS", "testserver,127.0.0.1,localhost")
os.environ.setdefault("SECURE_SSL_REDIRECT", "0")
os.environ.setdefault("SECURE_COOKIES", "0")

import tempfile

from config.settings.base import *

# Full structure exports: out of the working tree.
LIEN_EXPORT_ROOT = Path(tempfile.gettempdir()) / "lien-test-exports"
LIEN_OPEN_DATA_ROOT = Path(tempfile.gettempdir()) / "lien-test-open-data"

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
STORAGES["staticfiles"] = {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}
AXES_ENABLED = True
# Tests that exercise demo logins turn this on explicitly.
LIEN_DEMO_LOGINS_ENABLED = False
# Jobs run at once (after commit) in most tests; tests of the worker switch to the
# database backend with override_settings.
TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
# Most tests log in with force_login and no second factor; the tests of the second
# factor turn the requirement on with override_settings (tests/core/test_two_factor.py).
LIEN_TWO_FACTOR_ROLES = ()
