"""The wheel carries every subpackage and the console script; CI runs README's test command."""

from __future__ import annotations

import re
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Every folder of the source tree that is a package, as the wheel must name it: a subpackage added to
# the tree but not to pyproject.toml's list (gradual/journeys once was) fails here, not in a user's install.
TOP_LEVEL = {"gradual": "gradual", "master": "gradual/master", "worker": "gradual/worker", "proto": "gradual/proto"}


def _source_packages() -> list[str]:
    names = []
    for folder, wheel_name in TOP_LEVEL.items():
        for init in (ROOT / folder).rglob("__init__.py"):
            rel = init.parent.relative_to(ROOT / folder).as_posix()
            names.append(wheel_name if rel == "." else f"{wheel_name}/{rel}")
    return sorted(names)


SUBPACKAGES = _source_packages()


def test_wheel_contains_every_subpackage_and_the_console_script(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--outdir", str(tmp_path), str(ROOT)],
        check=True, capture_output=True, timeout=300,
    )
    (wheel,) = tmp_path.glob("gradual_load-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    for package in SUBPACKAGES:
        assert f"{package}/__init__.py" in names, f"{package} missing from {wheel.name}"
    assert "gradual/configs/decorators.py" in names
    assert "gradual/plan.py" in names
    for web_asset in ("gradual.js", "style.css", "report.html", "report.js", "dashboard.html", "dashboard.js"):
        assert f"gradual/web/{web_asset}" in names, f"{web_asset} missing from {wheel.name}"
    assert not any(n.startswith(("master/", "worker/", "proto/", "tests/")) for n in names), \
        "top-level folders must be installed under gradual.*, never as bare packages"
    entry_points = next(n for n in names if n.endswith(".dist-info/entry_points.txt"))
    text = zipfile.ZipFile(wheel).read(entry_points).decode()
    assert re.search(r"^gradual\s*=\s*gradual\.cli:main$", text, re.M), text
    assert len(names) > 30


def test_ci_runs_the_readme_install_and_test_commands() -> None:
    ci = (ROOT / ".ci" / "run").read_text()
    (install,) = re.findall(r"^INSTALL_CMD='(.+)'$", ci, re.M)
    (command,) = re.findall(r'^TEST_CMD="(.+)"$', ci, re.M)
    readme = (ROOT / "README.md").read_text()
    assert f"```sh\n{install}\n{command}\n```" in readme, \
        f"README.md's Tests section must give {install!r} then {command!r}, as CI runs them"
    assert 'eval "$INSTALL_CMD"' in ci and "$TEST_CMD" in ci
    assert "setuptools>=77" in (ROOT / "pyproject.toml").read_text().split("[project.optional-dependencies]")[1]
    assert "exit 1" in ci and '"$rc" -eq 5' in ci, "CI must fail when pytest collects no tests"
