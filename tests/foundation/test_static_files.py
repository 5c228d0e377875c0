"""collectstatic as `make run` does it (STATIC_MANIFEST on): only hashed names are kept and
compressed, source maps are not compressed, and every name still answers."""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# Runs in a fresh process: the storage backend is chosen from STATIC_MANIFEST at settings import.
PROBE = """
import json
from django.core.management import call_command
from django.test import Client
from django.templatetags.static import static
call_command("collectstatic", "--noinput", "-v", "0")
client = Client(HTTP_ACCEPT_ENCODING="br, gzip")
def fetch(url):
    response = client.get(url)
    return [response.status_code, response.get("Content-Encoding")]
bundle = static("ninja/swagger-ui-bundle.js")
print(json.dumps({"bundle": bundle, "hashed": fetch(bundle),
                  "unhashed": fetch("/static/ninja/swagger-ui-bundle.js")}))
"""


def test_it_keeps_and_compresses_only_hashed_static_files_and_still_serves_unhashed_names(tmp_path):
    env = dict(os.environ, CUTOUT_VAR_DIR=str(tmp_path), STATIC_MANIFEST="true", DEBUG="false",
               DJANGO_SETTINGS_MODULE="config.settings")
    done = subprocess.run([sys.executable, "manage.py", "shell", "-v", "0", "-c", PROBE], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    root = tmp_path / "staticfiles" / "ninja"
    hashed = root / Path(result["bundle"]).name

    assert hashed.name != "swagger-ui-bundle.js"  # the page links the hashed name
    assert result["hashed"][0] == 200 and result["hashed"][1] in ("br", "gzip")
    assert (root / f"{hashed.name}.gz").is_file()
    assert not (root / "swagger-ui-bundle.js").exists()  # the unhashed copy is not kept...
    assert result["unhashed"][0] == 200  # ...yet its name answers, through the finders
    maps = list(root.glob("*.map*"))
    assert maps and not [m for m in maps if m.suffix in (".gz", ".br")]
