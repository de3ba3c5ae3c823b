import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def run_manage(*args, **env):
    # The test settings put relaxed values in os.environ; the child must not inherit them.
    relaxed = {
        "DEBUG",
        "SECRET_KEY",
        "ALLOWED_HOSTS",
        "SECURE_SSL_REDIRECT",
        "SECURE_COOKIES",
        "DJANGO_SETTINGS_MODULE",
        "LIEN_DEMO_LOGINS_ENABLED",
        "SECURE_HSTS_SECONDS",
    }
    environment = {k: v for k, v in os.environ.items() if k not in relaxed}
    environment.update(env)
    return subprocess.run(  # noqa: S603 — our own manage.py with fixed arguments
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_check_deploy_is_clean_with_production_settings():
    result = run_manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        DJANGO_SETTINGS_MODULE="config.settings.base",
        SECRET_KEY="a-long-random-production-secret-" + "k" * 40,
        ALLOWED_HOSTS="lien.example.org",
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_production_settings_refuse_to_start_without_a_secret_key():
    result = run_manage(
        "check", DJANGO_SETTINGS_MODULE="config.settings.base", ALLOWED_HOSTS="lien.example.org"
    )
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


@pytest.mark.parametrize("module", ["config.settings.base"])
def test_production_settings_default_to_safe_values(module, monkeypatch):
    result = run_manage(
        "shell",
        "--no-imports",
        "-c",
        "from django.conf import settings as s; "
        "print(s.DEBUG, s.SESSION_COOKIE_SECURE, s.SECURE_SSL_REDIRECT, "
        "s.LIEN_DEMO_LOGINS_ENABLED, s.SECURE_HSTS_SECONDS > 0)",
        DJANGO_SETTINGS_MODULE=module,
        SECRET_KEY="x" * 50,
        ALLOWED_HOSTS="lien.example.org",
    )
    assert result.stdout.split() == ["False", "True", "True", "False", "True"], result.stderr
