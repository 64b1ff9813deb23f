"""The API's certificate: the user's own, or a self-signed one made at first start and kept."""

from __future__ import annotations

import datetime
import ipaddress
import os
import socket
from pathlib import Path

from hearth.net import lan_address


def ensure_self_signed(folder: Path, gateway_id: str) -> tuple[Path, Path]:
    """(certificate, key) in ``folder``; made once (valid ten years), then reused so clients can pin it."""
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    if cert_path.exists() and key_path.exists():
        return cert_path, key_path
    # Imported only to make the certificate, once: every later start reuses the files and skips the import.
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    folder.mkdir(parents=True, exist_ok=True)
    key = ec.generate_private_key(ec.SECP256R1())
    hostname = socket.gethostname()
    names: list[x509.GeneralName] = [
        x509.DNSName("localhost"),
        x509.DNSName(hostname),
        x509.DNSName(f"{hostname}.local"),
        x509.DNSName(f"gateway-{gateway_id}.local"),
        x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
        x509.IPAddress(ipaddress.ip_address("::1")),
    ]
    lan = lan_address()
    if lan != "127.0.0.1":
        # The address the start banner prints, so that `curl --cacert` on that very URL works.
        names.append(x509.IPAddress(ipaddress.ip_address(lan)))
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, f"Hearth gateway {gateway_id}"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Hearth"),
        ]
    )
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=3650))
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    tmp_key = key_path.with_suffix(".tmp")
    fd = os.open(tmp_key, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(
            key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
        )
    tmp_key.replace(key_path)
    tmp_cert = cert_path.with_suffix(".tmp")
    tmp_cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    tmp_cert.replace(cert_path)
    return cert_path, key_path
