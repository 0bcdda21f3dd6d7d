"""Fixtures shared by the SIP core tests: a throwaway TLS certificate."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from telephony.sip.transport import TlsConfig


@pytest.fixture
def tls_config(tmp_path: Path) -> TlsConfig:
    """A self-signed certificate for 127.0.0.1 made with the openssl command."""
    if shutil.which("openssl") is None:
        pytest.skip("needs the openssl command")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=hotline.test", "-addext", "subjectAltName=IP:127.0.0.1",
         "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    return TlsConfig(certfile=str(cert), keyfile=str(key), cafile=str(cert))
