import re

import pytest

from cakupan.errors import ConfigurationError
from cakupan.pseudonymise import NikPseudonymiser, resolve_key


def test_token_is_keyed_deterministic_hex():
    a = NikPseudonymiser(b"a" * 32)
    b = NikPseudonymiser(b"b" * 32)
    nik = "1506070601910001"
    assert a.token(nik) == a.token(nik)
    assert re.fullmatch(r"[0-9a-f]{64}", a.token(nik))
    assert a.token(nik) != b.token(nik)
    assert a.token(nik) != a.token("1506070601910002")
    assert nik not in a.token(nik)
    assert a.fingerprint != b.fingerprint and len(a.fingerprint) == 12


def test_short_key_refused():
    with pytest.raises(ConfigurationError, match="at least 32"):
        NikPseudonymiser(b"short")


def test_key_resolution_order(monkeypatch, tmp_path):
    monkeypatch.delenv("CAKUPAN_NIK_HMAC_KEY", raising=False)
    monkeypatch.delenv("CAKUPAN_NIK_HMAC_KEY_FILE", raising=False)
    with pytest.raises(ConfigurationError, match="cakupan_nik_hmac"):
        resolve_key()
    key_file = tmp_path / "key"
    key_file.write_text("f" * 64 + "\n")
    monkeypatch.setenv("CAKUPAN_NIK_HMAC_KEY_FILE", str(key_file))
    assert resolve_key() == b"f" * 64
    monkeypatch.setenv("CAKUPAN_NIK_HMAC_KEY", "e" * 40)
    assert resolve_key() == b"e" * 40


def test_key_from_airflow_connection(monkeypatch):
    monkeypatch.delenv("CAKUPAN_NIK_HMAC_KEY", raising=False)
    monkeypatch.setenv(
        "AIRFLOW_CONN_CAKUPAN_NIK_HMAC", '{"conn_type": "generic", "password": "' + "z" * 48 + '"}'
    )
    assert resolve_key(use_airflow=True) == b"z" * 48


def test_inside_airflow_the_key_never_falls_back(monkeypatch, tmp_path):
    """Airflow reports a failing secrets backend as a connection that is not defined:
    with a key in the environment too, the task must fail, not tokenise with that key."""
    import subprocess
    import sys

    backend = tmp_path / "broken_backend.py"
    backend.write_text(
        "from airflow.secrets import BaseSecretsBackend\n"
        "class Broken(BaseSecretsBackend):\n"
        "    def get_connection(self, conn_id):\n"
        "        raise ConnectionError('vault unreachable')\n"
    )
    env = {k: v for k, v in __import__("os").environ.items() if not k.startswith("AIRFLOW_CONN")}
    env.update(
        PYTHONPATH=str(tmp_path),
        AIRFLOW__SECRETS__BACKEND="broken_backend.Broken",
        CAKUPAN_NIK_HMAC_KEY="x" * 40,
    )
    proc = subprocess.run(
        [
            sys.executable,
            "-c",
            "from cakupan.pseudonymise import resolve_key\nresolve_key(use_airflow=True)",
        ],
        env=env,
        capture_output=True,
        text=True,
    )
    assert proc.returncode != 0
    assert "ConfigurationError: No NIK HMAC key: the Airflow connection 'cakupan_nik_hmac'" in (
        proc.stderr
    )


def test_c_accelerator_is_built_and_matches_hmac(monkeypatch):
    """`pip install -e .` builds it here (gcc + Python headers); it must give the very
    tokens of Python's hmac module, for every key length and value width."""
    import hashlib
    import hmac
    import random

    from cakupan import pseudonymise

    assert pseudonymise._accelerated is not None, "C accelerator not built (see setup.py)"
    rng = random.Random(7)
    for key_len in (32, 63, 64, 65, 200):
        key = rng.randbytes(key_len)
        for width in (1, 16, 55, 100):
            values = [rng.randbytes(width) for _ in range(50)]
            packed = b"".join(values)
            expected = "".join(hmac.new(key, v, hashlib.sha256).hexdigest() for v in values)
            p = NikPseudonymiser(key)
            assert p.packed_tokens(packed, width).decode() == expected
            monkeypatch.setattr(pseudonymise, "_accelerated", None)  # the hashlib path
            assert p.packed_tokens(packed, width).decode() == expected
            monkeypatch.undo()
