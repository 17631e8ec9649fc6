"""Who signs the studio's Content Credentials: a key and certificate chain, self-made on first start or given.

A self-made identity is a small certificate authority of this installation (made once, its key thrown away after
it issued one certificate) and a signing certificate it issued: ECDSA P-256 (ES256), key usage
``digitalSignature``, extended key usage ``emailProtection``, which is what C2PA validators (c2pa-rs) accept for a
signer. It proves only that a file was signed by whoever holds this installation's key and has not changed since;
no verifier trusts it (they report ``signingCredential.untrusted``), and it says nothing about who runs the studio.
An organisation's own certificate (``--c2pa-cert``, ``--c2pa-key``), issued under a trust list verifiers know,
does say who signed.

The files live in ``<cache-dir>/c2pa/`` (folder 0700, key 0600), which the server never serves.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

IDENTITY_DIR = "c2pa"
KEY_FILE = "signer-key.pem"
CHAIN_FILE = "signer-chain.pem"
VALID_YEARS = 10


@dataclass(frozen=True)
class Identity:
    """A signing key (PEM) with its certificate chain (PEM, signer first), the C2PA algorithm name, and whether
    the studio made it itself (so the UI can say what it proves)."""

    chain_pem: bytes
    key_pem: bytes
    alg: str  # "es256", "es384", "ps256", "ed25519"
    self_made: bool

    @property
    def subject(self) -> str:
        """The signer certificate's subject, as verifiers show it."""
        from cryptography import x509

        return x509.load_pem_x509_certificates(self.chain_pem)[0].subject.rfc4514_string()


def self_made_identity(cache_dir: Path) -> Identity:
    """The installation's own identity in ``cache_dir/c2pa/``, made (owner-only) on first use."""
    folder = cache_dir / IDENTITY_DIR
    with contextlib.suppress(OSError, ValueError):
        return _checked(folder / CHAIN_FILE, folder / KEY_FILE, self_made=True)
    cache_dir.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=cache_dir, prefix=".c2pa-"))  # 0700, like the folder it becomes
    chain, key = _make_chain()
    _write_private(staging / KEY_FILE, key)
    _write_private(staging / CHAIN_FILE, chain)
    try:
        os.rename(staging, folder)  # key and chain land together; a concurrent first start keeps the first
    except OSError:
        shutil.rmtree(staging, ignore_errors=True)
        with contextlib.suppress(OSError, ValueError):
            return _checked(folder / CHAIN_FILE, folder / KEY_FILE, self_made=True)
        shutil.rmtree(folder, ignore_errors=True)  # a damaged folder: make a new identity in its place
        return self_made_identity(cache_dir)
    return Identity(chain, key, "es256", self_made=True)


def given_identity(cert: Path, key: Path) -> Identity:
    """An organisation's identity from ``--c2pa-cert`` (PEM chain, signer first) and ``--c2pa-key`` (PEM key);
    raises ``ValueError`` naming the flag when a file is missing or not what it should be."""
    for flag, path in (("--c2pa-cert", cert), ("--c2pa-key", key)):
        if not path.is_file():
            raise ValueError(f"{flag}: no such file: {path}")
    try:
        return _checked(cert, key, self_made=False)
    except (ValueError, TypeError, OSError) as exc:  # not PEM, a password-protected key, unreadable
        raise ValueError(f"--c2pa-cert/--c2pa-key: {exc}") from None


def _checked(chain_path: Path, key_path: Path, *, self_made: bool) -> Identity:
    """The identity in two PEM files, its algorithm read from the key; ``ValueError`` if they do not match."""
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

    chain, key_pem = chain_path.read_bytes(), key_path.read_bytes()
    certs = x509.load_pem_x509_certificates(chain)
    key = serialization.load_pem_private_key(key_pem, password=None)
    public = serialization.PublicFormat.SubjectPublicKeyInfo
    if certs[0].public_key().public_bytes(serialization.Encoding.DER, public) != key.public_key().public_bytes(
        serialization.Encoding.DER, public
    ):
        raise ValueError("the key does not belong to the first certificate of the chain")
    if isinstance(key, ed25519.Ed25519PrivateKey):
        alg = "ed25519"
    elif isinstance(key, ec.EllipticCurvePrivateKey) and key.curve.name in ("secp256r1", "secp384r1"):
        alg = "es256" if key.curve.name == "secp256r1" else "es384"
    elif isinstance(key, rsa.RSAPrivateKey):
        alg = "ps256"
    else:
        raise ValueError(f"a {type(key).__name__} key; C2PA signs with Ed25519, ECDSA P-256/P-384 or RSA-PSS")
    return Identity(chain, key_pem, alg, self_made)


def _make_chain() -> tuple[bytes, bytes]:
    """A new CA and a signing certificate it issued: (chain PEM, signer key PEM). The CA's key is not kept."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    def name(cn: str) -> x509.Name:
        org = x509.NameAttribute(NameOID.ORGANIZATION_NAME, "studio (self-made, unverified)")
        return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn), org])

    def usage(*, sign: bool) -> x509.KeyUsage:
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

    now = _dt.datetime.now(_dt.UTC) - _dt.timedelta(days=1)
    until = now + _dt.timedelta(days=365 * VALID_YEARS)
    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca = (
        x509.CertificateBuilder()
        .subject_name(name("studio installation CA"))
        .issuer_name(name("studio installation CA"))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(until)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(usage(sign=False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    leaf = (
        x509.CertificateBuilder()
        .subject_name(name("studio signer"))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(until)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(usage(sign=True), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    pem = serialization.Encoding.PEM
    chain = leaf.public_bytes(pem) + ca.public_bytes(pem)
    key_pem = key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    return chain, key_pem


def _write_private(path: Path, data: bytes) -> None:
    """Write a new file readable by the owner only."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
