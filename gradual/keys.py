"""CURVE key directories: `gradual keys init DIR`, `gradual keys add-worker DIR NAME`, and loading them.

Layout of DIR (ZeroMQ's certificate files, from zmq.auth; every *.key_secret is 0600):

    master.key, master.key_secret       the master's keypair (the secret stays on the master)
    worker.key, worker.key_secret       the default worker keypair
    workers/<name>.key                  public keys the master admits (init puts worker.key there)
    <name>/                             from add-worker: a keys dir to copy to that one worker machine
                                        (master.key, worker.key, worker.key_secret)

The master reads DIR/master.key_secret and DIR/workers/*.key. A worker reads DIR/master.key (the one
master it will talk to: pinned) and DIR/worker.key_secret (its own keypair).
"""

from __future__ import annotations

import os
import re
import shutil
import stat
from dataclasses import dataclass
from pathlib import Path

ENV_VAR = "GRADUAL_KEYS"
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")


class KeysError(ValueError):
    """A keys directory that is missing, incomplete or unsafe: one line naming the file (exit 2)."""


@dataclass(frozen=True)
class Keypair:
    public: bytes  # z85, 40 bytes
    secret: bytes


@dataclass(frozen=True)
class MasterKeys:
    own: Keypair
    authorized: dict[bytes, str]  # z85 public key -> name (the file it came from)


@dataclass(frozen=True)
class WorkerKeys:
    own: Keypair
    master: bytes  # the pinned master public key (z85)


def _load(path: Path, secret: bool) -> tuple[bytes, bytes | None]:
    import zmq.auth

    if not path.is_file():
        raise KeysError(f"{path}: no such key file")
    # Group bits are allowed: Kubernetes secret volumes with an fsGroup are group-readable by design.
    if secret and stat.S_IMODE(path.stat().st_mode) & 0o007:
        raise KeysError(f"{path}: a secret key must not be readable by others (chmod 600)")
    try:
        public, secret_key = zmq.auth.load_certificate(path)
    except (OSError, ValueError) as exc:
        raise KeysError(f"{path}: not a ZeroMQ certificate: {exc}") from None
    if len(public) != 40 or (secret and (secret_key is None or len(secret_key) != 40)):
        raise KeysError(f"{path}: not a CURVE {'secret' if secret else 'public'} key file")
    return public, secret_key


def _keypair(path: Path) -> Keypair:
    public, secret = _load(path, secret=True)
    assert secret is not None
    return Keypair(public, secret)


def master_keys(folder: Path) -> MasterKeys:
    own = _keypair(folder / "master.key_secret")
    authorized: dict[bytes, str] = {}
    workers = folder / "workers"
    for path in sorted(workers.glob("*.key")) if workers.is_dir() else []:
        public, _ = _load(path, secret=False)
        authorized[public] = path.stem
    if not authorized:
        raise KeysError(f"{workers}: no worker public keys (*.key) to admit")
    return MasterKeys(own, authorized)


def worker_keys(folder: Path) -> WorkerKeys:
    master, _ = _load(folder / "master.key", secret=False)
    return WorkerKeys(_keypair(folder / "worker.key_secret"), master)


def _create(folder: Path, name: str) -> None:
    import zmq.auth

    zmq.auth.create_certificates(folder, name)
    os.chmod(folder / f"{name}.key_secret", 0o600)
    os.chmod(folder / f"{name}.key", 0o644)


def init(folder: Path) -> list[Path]:
    """A fresh keys dir; refuses to overwrite existing keys (rotation is a new dir, see docs/deploy.md)."""
    if (folder / "master.key_secret").exists():
        raise KeysError(f"{folder}: already holds keys (master.key_secret); use a new directory to rotate")
    folder.mkdir(parents=True, exist_ok=True)
    os.chmod(folder, 0o700)
    _create(folder, "master")
    _create(folder, "worker")
    (folder / "workers").mkdir(exist_ok=True)
    shutil.copy(folder / "worker.key", folder / "workers" / "worker.key")
    return [folder / "master.key_secret", folder / "worker.key_secret", folder / "workers" / "worker.key"]


def add_worker(folder: Path, name: str) -> Path:
    """Keys for one more worker: its public key goes to DIR/workers/, its own keys dir to DIR/<name>/."""
    if not _NAME.fullmatch(name) or name in ("workers", "master", "worker"):
        raise KeysError(f"worker name {name!r}: use 1-64 letters, digits, '.', '_' or '-' (not a reserved name)")
    _load(folder / "master.key", secret=False)
    target = folder / name
    if (folder / "workers" / f"{name}.key").exists() or target.exists():
        raise KeysError(f"{folder}: worker {name!r} already has keys")
    target.mkdir(mode=0o700)
    _create(target, "worker")
    shutil.copy(folder / "master.key", target / "master.key")
    (folder / "workers").mkdir(exist_ok=True)
    shutil.copy(target / "worker.key", folder / "workers" / f"{name}.key")
    return target


def keys_command(action: str, folder: Path, name: str | None, if_missing: bool = False) -> int:
    import sys

    try:
        if action == "init" and if_missing and (folder / "master.key_secret").exists():
            master_keys(folder)  # what is there must be usable
            print(f"{folder} already holds keys: kept")
        elif action == "init":
            for path in init(folder):
                print(f"wrote {path}")
            print(f"master: --keys {folder}; workers: --keys {folder} (copy master.key, worker.key and "
                  "worker.key_secret), or one keys dir per worker with `gradual keys add-worker`")
        else:
            assert name is not None
            target = add_worker(folder, name)
            print(f"wrote {target}/ (give it to worker {name!r}: --keys {target}) and "
                  f"{folder / 'workers' / (name + '.key')} (the master admits it from its next start)")
    except (KeysError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0
