"""The admin shows the jobs records, without a person's name."""

import pytest
from django.urls import reverse


@pytest.mark.parametrize(
    ("model", "key"),
    [
        ("post", "post"),
        ("mediator", "mediator"),
        ("contract", "contract"),
        ("funding", "funding"),
        ("training", "training"),
        ("practicereview", "practice_review"),
    ],
)
def test_admin_pages_render_without_names(jobs, client, model, key):
    client.force_login(jobs["admin"].user, backend="lien.core.auth.EmailBackend")
    obj = jobs["a"][key]
    for url in (
        reverse(f"admin:jobs_{model}_changelist"),
        reverse(f"admin:jobs_{model}_change", args=[obj.pk]),
    ):
        response = client.get(url)
        assert response.status_code == 200, url
        assert jobs["a"]["mediator"].last_name not in response.content.decode(), url
