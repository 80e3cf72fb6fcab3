"""Settings: every one is documented; secrets and ports are read as an operator expects."""

import re

import pytest

from cakupan.config import PROJECT_ROOT, settings
from cakupan.errors import ConfigurationError


def test_every_setting_is_in_the_readme():
    source = (PROJECT_ROOT / "include" / "cakupan" / "config.py").read_text()
    readme = (PROJECT_ROOT / "README.md").read_text()
    table = readme[readme.index("### Configuration") :]
    names = set(re.findall(r'"(CAKUPAN_[A-Z_]+)"', source))
    assert len(names) > 20  # the pattern still finds them
    missing = sorted(n for n in names if f"`{n}`" not in table)
    assert not missing, f"not in the README's configuration table: {missing}"


def test_passwords_come_from_a_variable_or_a_secret_file(monkeypatch, tmp_path):
    secret = tmp_path / "bi_password"
    secret.write_text("from-the-file\n")
    monkeypatch.setenv("CAKUPAN_BI_PASSWORD_FILE", str(secret))
    monkeypatch.setenv("CAKUPAN_LOADER_PASSWORD", "from-the-variable")
    assert settings().duty_passwords == {"bi": "from-the-file", "loader": "from-the-variable"}

    monkeypatch.setenv("CAKUPAN_BI_PASSWORD", "also")
    with pytest.raises(ConfigurationError, match="CAKUPAN_BI_PASSWORD or CAKUPAN_BI_PASSWORD_FILE"):
        settings()
    monkeypatch.delenv("CAKUPAN_BI_PASSWORD")
    monkeypatch.setenv("CAKUPAN_BI_PASSWORD_FILE", str(tmp_path / "missing"))
    with pytest.raises(ConfigurationError, match="cannot read .*missing"):
        settings()
    monkeypatch.setenv("CAKUPAN_WAREHOUSE_PORT", "70000")
    monkeypatch.delenv("CAKUPAN_BI_PASSWORD_FILE")
    with pytest.raises(ConfigurationError, match="CAKUPAN_WAREHOUSE_PORT must be a whole number"):
        settings()


def test_the_task_preload_names_modules_that_import():
    """Python's forkserver skips a preload module that fails to import, without a word:
    a renamed module would quietly bring back the import cost to every dbt task."""
    import importlib

    from cakupan.runtime import TASK_PRELOAD

    for module in TASK_PRELOAD:
        assert importlib.import_module(module).__name__ == module
