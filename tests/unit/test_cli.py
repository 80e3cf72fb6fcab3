"""The CLI explains itself: every (sub)command has a description, every option help
with its default, and the one command that writes data at national size asks for it."""

from __future__ import annotations

import argparse
import subprocess

import pytest

from cakupan.articles import ARTICLE_CODES
from cakupan.cli import build_parser
from tests.helpers import CAKUPAN


def _parsers(parser: argparse.ArgumentParser, path=("cakupan",)):
    yield path, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from _parsers(sub, (*path, name))


def test_every_command_and_option_is_described():
    seen = 0
    for path, parser in _parsers(build_parser()):
        if path != ("cakupan",):
            assert parser.description, f"{' '.join(path)} has no description"
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction) or action.dest == "help":
                continue
            seen += 1
            assert action.help, f"{' '.join(path)} {action.option_strings or action.dest}"
    assert seen > 25  # the walk reached the subcommands


def test_help_shows_defaults_and_version_prints():
    page = subprocess.run(
        [CAKUPAN, "landing", "init", "--help"], capture_output=True, text=True, check=True
    ).stdout
    assert "(default: 2025-01)" in page and "(default: 1.0)" in page
    version = subprocess.run([CAKUPAN, "--version"], capture_output=True, text=True, check=True)
    assert version.stdout.startswith("cakupan 0.")


def test_landing_init_defaults_to_the_article_regencies_not_the_nation():
    parser = build_parser()
    assert parser.parse_args(["landing", "init"]).regions == list(ARTICLE_CODES)
    assert parser.parse_args(["landing", "init", "--regions", "all"]).regions is None
    assert parser.parse_args(["generate", "--out", "x", "--regions", "19.06"]).regions == ["19.06"]


@pytest.mark.parametrize(
    ("args", "machine"),
    [
        (["dags", "list", "-o", "json"], True),
        (["dags", "list", "--output=yaml"], True),
        (["dags", "list", "--output", "table"], False),
        (["dags", "test", "cakupan_transform"], False),
    ],
)
def test_machine_readable_airflow_output_is_recognised(args, machine):
    from cakupan.cli import _machine_output

    assert _machine_output(args) is machine
