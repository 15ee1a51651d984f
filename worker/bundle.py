"""Loading the master's bundle on a worker: files into a private folder, then the same validation."""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import replace
from pathlib import Path

from gradual.proto import Bundle

from gradual import events
from gradual.configs import ConfigError, RunConfig, load
from gradual.configs.errors import ConfigIssue
from gradual.configs.overrides import Overrides
from gradual.configs.requests import request_file_owner
from gradual.preflight import check_credentials


class BundleLoadError(Exception):
    """One line for the master: file:line and what is wrong, relative to the bundle."""


class LoadedBundle:
    def __init__(self, bundle: Bundle, parent: Path | None = None) -> None:
        self.digest = bundle.digest()
        self.options = bundle.options  # with the digest, what makes two bundles the same run config
        # The master's --host/--run-time/--users/--set, applied here to the same files: the same config.
        try:
            overrides = Overrides.from_wire(bundle.options.get("overrides"))
        except ValueError as exc:
            raise BundleLoadError(str(exc)) from None
        self.folder = Path(tempfile.mkdtemp(prefix="gradual-worker-", dir=parent))
        try:
            for rel, data in bundle.files.items():
                dest = self.folder / rel
                dest.parent.mkdir(parents=True, exist_ok=True)
                dest.write_bytes(data)
            request_config = self.folder / bundle.request_config if bundle.request_config else None
            self.run: RunConfig = load(self.folder / bundle.config_path, request_config, overrides,
                                  cwd=self._cwd(bundle))
            check_credentials(self.run)
        except ConfigError as exc:
            self.remove()
            raise BundleLoadError("; ".join(self._relative(i) for i in exc.issues)) from None
        except OSError as exc:
            self.remove()
            raise BundleLoadError(f"cannot write the bundle: {exc}") from None

    def _cwd(self, bundle: Bundle) -> Path:
        """The master's working directory inside the bundle (request_file's second place), else the bundle root."""
        rel = (bundle.options or {}).get("cwd")
        folder = self.folder.resolve()
        if isinstance(rel, str):
            candidate = (folder / rel).resolve()
            if candidate.is_relative_to(folder):
                return candidate
        return folder

    def _relative(self, issue: ConfigIssue) -> str:
        """The issue with bundle paths as the master knows them, whatever this worker's cwd or /tmp link."""
        prefixes = {str(self.folder) + os.sep, str(self.folder.resolve()) + os.sep}
        file = issue.file
        try:
            file = Path(file).resolve().relative_to(self.folder.resolve()).as_posix()
        except (OSError, ValueError):
            pass
        message = issue.message
        for prefix in prefixes:
            message = message.replace(prefix, "")
        return str(replace(issue, file=file, message=message))

    def remove(self) -> None:
        for file in getattr(self, "run", None).files if hasattr(self, "run") else ():
            events.remove_owner(request_file_owner(file))
        shutil.rmtree(self.folder, ignore_errors=True)
