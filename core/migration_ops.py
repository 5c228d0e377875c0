"""Operations our migrations share (kept importable: migrations reference them by path)."""

from django.db import migrations


def permissions_renamed(app_label: str, old: str, new: str) -> migrations.RunPython:
    """After a RenameModel: the model's permissions keep their codenames (`change_job`), and Django
    makes new ones (`change_editorjob`) after migrating, so staff given the old ones through a user
    or a group would lose the admin. This renames the old codenames in place instead (nothing to do
    on a fresh database, where none exist yet). Reversible."""

    def rename(apps, schema_editor, source: str = old, target: str = new) -> None:
        permissions = apps.get_model("auth", "Permission").objects.filter(content_type__app_label=app_label)
        for action in ("add", "change", "delete", "view"):
            if permissions.filter(codename=f"{action}_{target}").exists():
                continue  # already made (e.g. by a run of post_migrate in between): keep that one
            permissions.filter(codename=f"{action}_{source}").update(codename=f"{action}_{target}")

    def back(apps, schema_editor) -> None:
        rename(apps, schema_editor, source=new, target=old)

    return migrations.RunPython(rename, back)
