"""docs/architecture.md's package import table is the code's, not a hand-edited copy of it."""

import subprocess
import sys

from django.conf import settings


def test_the_package_import_table_is_current():
    result = subprocess.run([sys.executable, "scripts/architecture_table.py", "--check"], cwd=settings.BASE_DIR,
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
