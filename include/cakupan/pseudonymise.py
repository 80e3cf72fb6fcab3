"""NIK pseudonymisation: a keyed hash (HMAC-SHA256) whose key never enters the repo or warehouse.

The key is resolved, in order, from the Airflow connection `cakupan_nik_hmac`
(its password; works with any Airflow secrets backend), the environment
variable CAKUPAN_NIK_HMAC_KEY, or the file named by CAKUPAN_NIK_HMAC_KEY_FILE.
Only a short fingerprint of the key is stored, so loads can tell which key
produced their tokens (needed when the key is rotated).
"""

from __future__ import annotations

import hashlib
import hmac
import os
from pathlib import Path

from cakupan.errors import ConfigurationError

AIRFLOW_CONN_ID = "cakupan_nik_hmac"
MIN_KEY_BYTES = 32


class NikPseudonymiser:
    def __init__(self, key: bytes):
        if len(key) < MIN_KEY_BYTES:
            raise ConfigurationError(
                f"NIK HMAC key is {len(key)} bytes; at least {MIN_KEY_BYTES} are required"
            )
        self._template = hmac.new(key, digestmod=hashlib.sha256)
        self.fingerprint = hashlib.sha256(b"cakupan-key-id:" + key).hexdigest()[:12]

    def token(self, nik: str) -> str:
        """64 lowercase hex characters; the same NIK and key always give the same token."""
        mac = self._template.copy()
        mac.update(nik.encode("ascii"))
        return mac.hexdigest()


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
