from django.db import migrations

from core.migration_ops import permissions_renamed


class Migration(migrations.Migration):
    """Staff permissions on batch jobs follow the rename Job → BatchJob (0005)."""

    dependencies = [
        ("jobs", "0005_rename_job_batchjob"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [permissions_renamed("jobs", "job", "batchjob")]
