"""NIK pseudonymisation: a keyed hash (HMAC-SHA256) whose key never enters the repo or warehouse.

The key is resolved, in order, from the Airflow connection `cakupan_nik_hmac`
(its password; works with any Airflow secrets backend), the environment
variable CAKUPAN_NIK_HMAC_KEY, or the file named by CAKUPAN_NIK_HMAC_KEY_FILE.
Only a short fingerprint of the key is stored, so loads can tell which key
produced their tokens (needed when the key is rotated).
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from cakupan.errors import ConfigurationError

try:  # optional C build of the same HMAC (setup.py); hashlib does it otherwise
    from cakupan import _hmac_sha256 as _accelerated
except ImportError:
    _accelerated = None

AIRFLOW_CONN_ID = "cakupan_nik_hmac"
MIN_KEY_BYTES = 32


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


def _key_from_airflow() -> str | None:
    try:
        from airflow.sdk import BaseHook
    except ImportError:
        return None
    try:
        return BaseHook.get_connection(AIRFLOW_CONN_ID).password or None
    except Exception:  # connection not defined: fall through to the environment
        return None


def resolve_key(use_airflow: bool = False) -> bytes:
    key = _key_from_airflow() if use_airflow else None
    key = key or os.environ.get("CAKUPAN_NIK_HMAC_KEY")
    key_file = os.environ.get("CAKUPAN_NIK_HMAC_KEY_FILE")
    if not key and key_file:
        key = Path(key_file).read_text().strip()
    if not key:
        raise ConfigurationError(
            "No NIK HMAC key: define the Airflow connection 'cakupan_nik_hmac' (password = key) "
            "or set CAKUPAN_NIK_HMAC_KEY / CAKUPAN_NIK_HMAC_KEY_FILE"
        )
    return key.encode("utf-8")
