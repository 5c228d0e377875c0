from django.db import migrations

from core.migration_ops import permissions_renamed


class Migration(migrations.Migration):
    """Staff permissions on editor jobs follow the rename Job → EditorJob (0007)."""

    dependencies = [
        ("editor", "0007_rename_job_editorjob"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [permissions_renamed("editor", "job", "editorjob")]
