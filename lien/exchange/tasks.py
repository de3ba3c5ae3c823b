"""Background jobs of the exchange app (django-tasks): thin wrappers around services.

Arguments are JSON values (ids as strings), since the database backend stores them.
"""

from django_tasks import task

from lien.exchange import exports


@task()
def build_structure_export(structure_id: str, export_id: str) -> dict:
    return exports.structure_export_build(structure_id=structure_id, export_id=export_id)
