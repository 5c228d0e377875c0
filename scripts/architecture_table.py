"""Write the package import table of docs/architecture.md from the code (grimp, import-linter's graph).

    .venv/bin/python scripts/architecture_table.py          # rewrite the table in the doc
    .venv/bin/python scripts/architecture_table.py --check  # exit 1 when the doc is out of date

The table sits between the two `package-imports` markers; nothing else in the doc is touched.
"""

import sys
from pathlib import Path

import grimp

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "architecture.md"
PACKAGES = ("config", "api", "editor", "jobs", "cutouts", "accounts", "billing", "core", "removal")
START, END = "<!-- package-imports:start -->", "<!-- package-imports:end -->"


def table() -> str:
    sys.path.insert(0, str(ROOT))
    graph = grimp.build_graph(*PACKAGES)
    rows = ["| package | imports (of ours): the modules it uses |", "|---|---|"]
    for package in PACKAGES:
        used: dict[str, set[str]] = {}
        for module in graph.modules:
            if module.split(".")[0] != package:
                continue
            for imported in graph.find_modules_directly_imported_by(module):
                top = imported.split(".")[0]
                if top in PACKAGES and top != package:
                    used.setdefault(top, set()).add(imported)
        cells = [f"{top} ({', '.join(sorted(name.split('.', 1)[-1] for name in used[top]))})"
                 for top in PACKAGES if top in used]
        rows.append(f"| {package} | {'; '.join(cells) or 'nothing'} |")
    return "\n".join(rows)


def main(argv: list[str]) -> int:
    text = DOC.read_text()
    head, rest = text.split(START, 1)
    _old, tail = rest.split(END, 1)
    new = f"{head}{START}\n{table()}\n{END}{tail}"
    if "--check" in argv:
        if new != text:
            print(f"{DOC.relative_to(ROOT)} is out of date: run scripts/architecture_table.py",
                  file=sys.stderr)
            return 1
        return 0
    DOC.write_text(new)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
