"""Certificates the TLS tests make for themselves with the openssl command: a self-signed server certificate,
and a test CA with a server certificate it signed. Both name localhost and 127.0.0.1; they live one day."""

from __future__ import annotations

import shutil
import ssl
import subprocess
from dataclasses import dataclass
from pathlib import Path

SAN = "subjectAltName=DNS:localhost,IP:127.0.0.1"
EC = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]


@dataclass(frozen=True)
class Certs:
    self_signed: Path  # certificate (PEM); its key is self_signed_key
    self_signed_key: Path
    ca: Path  # the test CA's certificate: what a client's ca_file names
    server: Path  # signed by the test CA
    server_key: Path

    def context(self, cert: Path, key: Path, sni: list[str] | None = None) -> ssl.SSLContext:
        """A server context for ``cert``; the names clients ask for (SNI) are appended to ``sni``."""
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert, key)
        if sni is not None:
            context.sni_callback = lambda _sock, name, _ctx: sni.append(name) and None
        return context


def _openssl(*args: str | Path, cwd: Path) -> None:
    subprocess.run(["openssl", *map(str, args)], cwd=cwd, check=True, capture_output=True, timeout=60)


def make_certs(folder: Path) -> Certs:
    if shutil.which("openssl") is None:
        raise RuntimeError("the openssl command is needed to make test certificates")
    folder.mkdir(parents=True, exist_ok=True)
    _openssl("req", "-x509", *EC, "-keyout", "self.key", "-out", "self.pem", "-days", "1",
             "-subj", "/CN=localhost", "-addext", SAN, cwd=folder)
    _openssl("req", "-x509", *EC, "-keyout", "ca.key", "-out", "ca.pem", "-days", "1",
             "-subj", "/CN=gradual test CA", "-addext", "basicConstraints=critical,CA:TRUE",
             "-addext", "keyUsage=critical,keyCertSign,cRLSign", cwd=folder)
    _openssl("req", "-new", *EC, "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=localhost",
             cwd=folder)
    (folder / "server.ext").write_text(SAN + "\n", encoding="utf-8")
    _openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
             "-out", "server.pem", "-days", "1", "-extfile", "server.ext", cwd=folder)
    return Certs(folder / "self.pem", folder / "self.key", folder / "ca.pem", folder / "server.pem",
                 folder / "server.key")
