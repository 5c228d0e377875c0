"""The renames Job → EditorJob and Job → BatchJob (issue 26) keep staff's permissions: real
migrations on the test database, from before the renames to the head and back."""

import pytest
from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE = [("editor", "0006_report_moved_to_cutouts"), ("jobs", "0004_job_test_mode")]
RENAMED = {"editor": "editorjob", "jobs": "batchjob"}


def _migrate(targets) -> MigrationExecutor:
    MigrationExecutor(connection).migrate(targets)
    return MigrationExecutor(connection)


def _codenames(group: Group) -> set[str]:
    return set(Permission.objects.filter(group=group).values_list("content_type__app_label", "codename"))


def test_a_group_keeps_its_permissions_on_both_kinds_of_job_through_the_renames():
    executor = _migrate(BEFORE)
    group = Group.objects.create(name="support")
    for app in RENAMED:  # as post_migrate made them before the renames
        kind, _ = ContentType.objects.get_or_create(app_label=app, model="job")
        Permission.objects.filter(content_type=kind).delete()
        for action in ("add", "change", "delete", "view"):
            made = Permission.objects.create(content_type=kind, codename=f"{action}_job", name=f"Can {action} job")
            if action in ("change", "view"):
                group.permissions.add(made.pk)

    head = executor.loader.graph.leaf_nodes()
    _migrate(head)
    assert _codenames(group) == {(app, f"{action}_{model}") for app, model in RENAMED.items()
                                 for action in ("change", "view")}
    _migrate(BEFORE)
    assert _codenames(group) == {(app, f"{action}_job") for app in RENAMED for action in ("change", "view")}
    _migrate(head)
