"""Certificates for the local stack's TLS (`freshrec up --secure`): a CA of its own, a server certificate for
127.0.0.1 and localhost, and a client certificate, made with the `openssl` command once and kept in the state
folder (private keys readable by this user only)."""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from infra.stack.process import StackError

DAYS = 825
"""Validity: under the 825 days clients accept for a server certificate."""


@dataclass(frozen=True)
class LocalCertificates:
    directory: Path

    @property
    def ca(self) -> Path:
        return self.directory / "ca.pem"

    @property
    def server_cert(self) -> Path:
        return self.directory / "server.pem"

    @property
    def server_key(self) -> Path:
        return self.directory / "server.key"

    @property
    def client_cert(self) -> Path:
        return self.directory / "client.pem"

    @property
    def client_key(self) -> Path:
        return self.directory / "client.key"

    def ensure(self) -> LocalCertificates:
        """Make what is missing (idempotent: existing certificates are kept, so clients keep trusting them)."""
        if all(p.is_file() for p in (self.ca, self.server_cert, self.server_key, self.client_cert, self.client_key)):
            return self
        openssl = shutil.which("openssl")
        if openssl is None:
            raise StackError("openssl is not installed: `apt-get install openssl`")
        self.directory.mkdir(parents=True, exist_ok=True)
        self.directory.chmod(0o700)
        ca_key = self.directory / "ca.key"
        _run([openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(ca_key), "-out", str(self.ca),
              "-days", str(DAYS), "-subj", "/CN=freshrec local CA", "-addext", "basicConstraints=critical,CA:TRUE",
              "-addext", "keyUsage=critical,keyCertSign,cRLSign"])  # fmt: skip
        for name, cert, key, usage in (("server", self.server_cert, self.server_key, "serverAuth"),
                                       ("client", self.client_cert, self.client_key, "clientAuth")):  # fmt: skip
            request = self.directory / f"{name}.csr"
            _run([openssl, "req", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(request),
                  "-subj", f"/CN=freshrec {name}"])  # fmt: skip
            extensions = self.directory / f"{name}.ext"
            extensions.write_text(f"subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage={usage}\n")
            _run([openssl, "x509", "-req", "-in", str(request), "-CA", str(self.ca), "-CAkey", str(ca_key),
                  "-CAcreateserial", "-out", str(cert), "-days", str(DAYS), "-extfile", str(extensions)])  # fmt: skip
            request.unlink()
            extensions.unlink()
        for key in self.directory.glob("*.key"):
            key.chmod(0o600)
        return self


def _run(command: list[str]) -> None:
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        raise StackError(f"{command[0]} {command[1]} failed: {result.stderr.strip()[-500:]}")
