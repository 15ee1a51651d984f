"""Every file a run reads is in RunConfig.files, so the master's bundle gives workers all of it."""

from __future__ import annotations

from pathlib import Path

from gradual.configs import load


def test_helper_module_imported_by_a_request_file_is_part_of_the_run(tmp_path: Path) -> None:
    folder = tmp_path / "suite"
    folder.mkdir()
    (folder / "bundle_helper_mod.py").write_text("def value():\n    return 3\n")
    (folder / "reqs.py").write_text(
        "import bundle_helper_mod\nfrom gradual import request\n\n@request\ndef f():\n"
        "    return bundle_helper_mod.value()\n"
    )
    (folder / "unrelated.py").write_text("x = 1\n")
    (folder / "c.yaml").write_text(
        "runs:\n  name: h\n  phases:\n    p:\n      run_time: 1\n      scenarios:\n"
        "        s: {requests: FROM_REQUEST_YAML_FILE, request_file: reqs.py, min_concurrency: 1,"
        " max_concurrency: 1}\n"
    )
    run = load(folder / "c.yaml")
    names = sorted(f.name for f in run.files)
    assert names == ["bundle_helper_mod.py", "c.yaml", "reqs.py"]
