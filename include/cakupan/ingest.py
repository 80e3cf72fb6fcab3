"""What the ingestion tasks do: find new extracts, load each one. Called from the DAGs."""

from __future__ import annotations

import logging
from dataclasses import asdict

from cakupan.config import settings
from cakupan.contracts import DATASETS
from cakupan.loader import RunInfo, current_checksum, load_extract
from cakupan.sources import file_checksum, file_name, list_extracts
from cakupan.warehouse import bootstrap, connect

log = logging.getLogger(__name__)


def find_new_extracts(dsn: str, dataset_name: str, force: bool = False) -> list[str]:
    """Extract URIs whose content is not already the published version of their period."""
    dataset = DATASETS[dataset_name]
    source = settings().source_uri(dataset_name)
    uris = list_extracts(source)
    log.info("%s: %d file(s) at %s", dataset_name, len(uris), source)
    todo = []
    with connect(dsn) as conn:
        bootstrap(conn)
        for uri in uris:
            period = dataset.period_from_file(file_name(uri))
            published = current_checksum(conn, dataset, period) if period else None
            if not force and published and file_checksum(uri) == published:
                log.info("%s: unchanged since its last load, skipped", file_name(uri))
                continue
            todo.append(uri)
    log.info("%s: %d file(s) to load", dataset_name, len(todo))
    return todo


def load(dsn: str, dataset_name: str, uri: str, run: RunInfo, key: bytes | None) -> dict:
    result = load_extract(dsn, dataset_name, uri, run=run, key=key)
    return asdict(result)
