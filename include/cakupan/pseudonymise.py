"""NIK pseudonymisation: a keyed hash (HMAC-SHA256) whose key never enters the repo or warehouse.

Inside Airflow the key comes only from the connection `cakupan_nik_hmac` (its
password; any secrets backend). There is no fall-back to another source: Airflow
reports a secrets backend that fails as a connection that is not defined, so a
fall-back would switch keys silently and tokenise a month under the wrong key.
Outside Airflow (the CLI) it comes from CAKUPAN_NIK_HMAC_KEY or the file named by
CAKUPAN_NIK_HMAC_KEY_FILE.
Only a short fingerprint of the key is stored, so loads can tell which key
produced their tokens (needed when the key is rotated).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from cakupan.errors import ConfigurationError

try:  # optional C build of the same HMAC (setup.py); hashlib does it otherwise
    from cakupan import _hmac_sha256 as _accelerated
except ImportError:
    _accelerated = None

AIRFLOW_CONN_ID = "cakupan_nik_hmac"
MIN_KEY_BYTES = 32
TOKEN_CHARS = 64  # HMAC-SHA256 as hex
# The part of a token the loader keeps to find NIKs that repeat within a month.
TOKEN_KEY_CHARS = 32


class NikPseudonymiser:
    def __init__(self, key: bytes):
        if len(key) < MIN_KEY_BYTES:
            raise ConfigurationError(
                f"NIK HMAC key is {len(key)} bytes; at least {MIN_KEY_BYTES} are required"
            )
        # HMAC's inner and outer hashes after the padded key block (RFC 2104): copying
        # these states is what the hmac module does, without its per-call overhead.
        block = (hashlib.sha256(key).digest() if len(key) > 64 else key).ljust(64, b"\0")
        self._key_block = block
        self._inner = hashlib.sha256(bytes(b ^ 0x36 for b in block))
        self._outer = hashlib.sha256(bytes(b ^ 0x5C for b in block))
        self.fingerprint = hashlib.sha256(b"cakupan-key-id:" + key).hexdigest()[:12]

    def _digest(self, value: bytes) -> bytes:
        inner = self._inner.copy()
        inner.update(value)
        outer = self._outer.copy()
        outer.update(inner.digest())
        return outer.digest()

    def token(self, nik: str) -> str:
        """64 lowercase hex characters; the same NIK and key always give the same token."""
        return self._digest(nik.encode("ascii")).hex()

    def packed_tokens(self, packed: bytes, width: int) -> bytes:
        """token() of NIKs given as one run of `width`-byte values, as one run of
        64-character tokens: the loader's hot loop. In C when the accelerator is built
        (OpenSSL's SHA-256, without the GIL), else with hashlib (about 0.9 µs)."""
        if _accelerated is not None:
            return _accelerated.packed_hex(self._key_block, packed, width)
        digests = (self._digest(packed[i : i + width]) for i in range(0, len(packed), width))
        return b"".join(digests).hex().encode("ascii")


def _key_from_airflow() -> bytes:
    from airflow.sdk import BaseHook
    from airflow.sdk.exceptions import AirflowNotFoundException

    try:
        key = BaseHook.get_connection(AIRFLOW_CONN_ID).password
    except AirflowNotFoundException:
        key = None
    except Exception as exc:
        raise ConfigurationError(
            f"reading the Airflow connection '{AIRFLOW_CONN_ID}' (the NIK key) failed: "
            f"{type(exc).__name__}; check the secrets backend"
        ) from None
    if not key:
        raise ConfigurationError(
            f"No NIK HMAC key: the Airflow connection '{AIRFLOW_CONN_ID}' is not defined or "
            "has no password. Define it (password = key) in the secrets backend; if one is "
            "configured and the connection is there, the backend is failing (Airflow reports "
            "that as 'not defined': see the task log at DEBUG)"
        )
    return key.encode("utf-8")


def resolve_key(use_airflow: bool = False, default_key_file: str | None = None) -> bytes:
    """The key: the Airflow connection only (inside Airflow), else CAKUPAN_NIK_HMAC_KEY,
    the file named by CAKUPAN_NIK_HMAC_KEY_FILE, else `default_key_file` (the CLI's
    local key)."""
    from cakupan.config import settings

    if use_airflow:
        return _key_from_airflow()
    config = settings()
    key = config.nik_hmac_key
    key_file = config.nik_hmac_key_file or default_key_file
    if not key and key_file:
        try:
            key = Path(key_file).read_text().strip()
        except OSError as exc:
            raise ConfigurationError(
                f"cannot read the NIK key file {key_file} ({exc.strerror}); set "
                "CAKUPAN_NIK_HMAC_KEY_FILE to the key file"
            ) from None
    if not key:
        raise ConfigurationError(
            "No NIK HMAC key: define the Airflow connection 'cakupan_nik_hmac' (password = key) "
            "or set CAKUPAN_NIK_HMAC_KEY / CAKUPAN_NIK_HMAC_KEY_FILE"
        )
    return key.encode("utf-8")
