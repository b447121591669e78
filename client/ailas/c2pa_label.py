"""Writing an AILAS label into AI-generated audio as a C2PA manifest (``ailas label-file``), and
a test certificate authority for trying it (``ailas dev-cert``). Reading and judging a labelled
file is shared with the registry's upload check: :mod:`shared.formats.provenance`.

The manifest is signed with the business's own certificate (ES256, an X.509 chain in PEM:
end-entity first), not with AILAS's key: the C2PA signature says who made the audio; the
label token inside says that AILAS certified the AI that made it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from ailas.formats import provenance


class LabelFileError(Exception):
    """A file that cannot be labelled, or a certificate/key the library refused."""


@dataclass(frozen=True)
class DevCertificate:
    ca: Path
    cert: Path
    key: Path


def dev_cert(out_dir: Path, organization: str, days: int = 365) -> DevCertificate:
    """A throw-away test CA and an ES256 signing certificate issued by it, for trying C2PA
    signing locally (never for production: its CA is on nobody's trust list)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    def name(common: str) -> x509.Name:
        return x509.Name(
            [
                x509.NameAttribute(NameOID.COMMON_NAME, common),
                x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization),
                x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, "FOR TESTING ONLY"),
            ]
        )

    def usage(sign: bool) -> x509.KeyUsage:
        return x509.KeyUsage(
            digital_signature=sign,
            content_commitment=False,
            key_encipherment=False,
            data_encipherment=False,
            key_agreement=False,
            key_cert_sign=not sign,
            crl_sign=not sign,
            encipher_only=False,
            decipher_only=False,
        )

    now = datetime.now(UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (
        x509.CertificateBuilder()
        .subject_name(name(f"{organization} test CA"))
        .issuer_name(name(f"{organization} test CA"))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(hours=1))
        .not_valid_after(now + timedelta(days=days * 2))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(usage(sign=False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(name(f"{organization} C2PA signer"))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(hours=1))
        .not_valid_after(now + timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(usage(sign=True), critical=True)
        # C2PA accepts these EKUs for claim signing (emailProtection is the usual one)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]), False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), False
        )
        .sign(ca_key, hashes.SHA256())
    )
    out_dir.mkdir(parents=True, exist_ok=True)
    pem = serialization.Encoding.PEM
    paths = DevCertificate(out_dir / "ca.pem", out_dir / "cert.pem", out_dir / "key.pem")
    paths.ca.write_bytes(ca.public_bytes(pem))
    paths.cert.write_bytes(cert.public_bytes(pem) + ca.public_bytes(pem))  # the chain
    paths.key.write_bytes(
        key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    paths.key.chmod(0o600)
    return paths


def label_file(
    source: Path,
    target: Path,
    label: dict[str, Any],
    training_mining: dict[str, Any],
    cert_chain: bytes,
    private_key: bytes,
) -> bytes:
    """Write ``source`` to ``target`` with a signed C2PA manifest carrying the label
    (``label``: ``label_no``, ``token``, ``verify_url``) and the CAWG assertion. Returns the
    manifest bytes."""
    import c2pa

    head = source.read_bytes()[:16]
    try:
        mime = provenance.sniff(head)
    except provenance.Unsupported as error:
        raise LabelFileError(str(error)) from None
    manifest = provenance.manifest_definition(
        target.name,
        [
            provenance.label_assertion(label["label_no"], label["token"], label["verify_url"]),
            {"label": provenance.CAWG_ASSERTION, "data": training_mining["data"]},
        ],
    )
    try:
        signer = c2pa.Signer.from_info(c2pa.C2paSignerInfo(b"es256", cert_chain, private_key, None))
    except c2pa.C2paError as error:
        raise LabelFileError(f"The certificate or key was refused: {error}") from None
    partial = target.with_name(target.name + ".part")
    try:
        with signer, source.open("rb") as src, partial.open("w+b") as dst:
            written = c2pa.Builder(manifest).sign(signer, mime, src, dst)
        partial.replace(target)
    except c2pa.C2paError as error:
        raise LabelFileError(f"The C2PA library could not sign this file: {error}") from None
    finally:
        partial.unlink(missing_ok=True)
    return written
