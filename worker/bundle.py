"""Loading the master's bundle on a worker: files into a private folder, then the same validation."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from gradual.proto import Bundle

from gradual.configs import ConfigError, RunConfig, load
from gradual.preflight import check_credentials


class BundleLoadError(Exception):
    """One line for the master: file:line and what is wrong, relative to the bundle."""


class LoadedBundle:
    def __init__(self, bundle: Bundle, parent: Path | None = None) -> None:
        self.digest = bundle.digest()
        self.folder = Path(tempfile.mkdtemp(prefix="gradual-worker-", dir=parent))
        try:
            for rel, data in bundle.files.items():
                dest = self.folder / rel
                dest.parent.mkdir(parents=True, exist_ok=True)
                dest.write_bytes(data)
            request_config = self.folder / bundle.request_config if bundle.request_config else None
            self.run: RunConfig = load(self.folder / bundle.config_path, request_config)
            check_credentials(self.run)
        except ConfigError as exc:
            self.remove()
            prefix = str(self.folder) + "/"
            raise BundleLoadError("; ".join(str(i).replace(prefix, "") for i in exc.issues)) from None
        except OSError as exc:
            self.remove()
            raise BundleLoadError(f"cannot write the bundle: {exc}") from None

    def remove(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)
