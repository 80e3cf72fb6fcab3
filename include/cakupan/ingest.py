"""What the ingestion tasks do: find new extracts, load each one. Called from the DAGs."""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import asdict

from cakupan.config import settings
from cakupan.contracts import DATASETS
from cakupan.loader import (
    LoadOptions,
    RunInfo,
    current_checksum,
    load_extract,
    mark_abandoned_loads,
)
from cakupan.privacy import safe_text
from cakupan.sources import file_checksum, file_name, list_source
from cakupan.warehouse import bootstrap, connect

log = logging.getLogger(__name__)


def _extracts_by_period(dataset_name: str) -> tuple[str, dict[str | None, list[str]]]:
    """The source's extracts grouped by the period in their names; ignored entries logged."""
    dataset = DATASETS[dataset_name]
    source = settings().source_uri(dataset_name)
    listing = list_source(source)
    for name, why in listing.ignored:
        log.warning("%s: ignored: %s", name, why)
    by_period: dict[str | None, list[str]] = defaultdict(list)
    for uri in listing.extracts:
        by_period[dataset.period_from_file(file_name(uri))].append(uri)
    return safe_text(source), by_period


def find_new_extracts(dsn: str, dataset_name: str, force: bool = False) -> list[str]:
    """Extract URIs whose content is not already the published version of their period.
    Files that share a period are all returned: each of their loads is refused, naming
    the others, until one remains."""
    dataset = DATASETS[dataset_name]
    source, by_period = _extracts_by_period(dataset_name)
    log.info("%s: %d file(s) at %s", dataset_name, sum(map(len, by_period.values())), source)
    todo = []
    with connect(dsn) as conn:
        bootstrap(conn)
        mark_abandoned_loads(conn)
        for period, uris in sorted(by_period.items(), key=lambda item: str(item[0])):
            if period is not None and len(uris) > 1:
                names = ", ".join(safe_text(file_name(u)) for u in uris)
                log.error("%s: %d files for period %s: %s", dataset_name, len(uris), period, names)
                todo += uris
                continue
            for uri in uris:
                published = current_checksum(conn, dataset, period) if period else None
                if not force and published and file_checksum(uri) == published:
                    log.info(
                        "%s: unchanged since its last load, skipped", safe_text(file_name(uri))
                    )
                    continue
                todo.append(uri)
    log.info("%s: %d file(s) to load", dataset_name, len(todo))
    return sorted(todo, key=file_name)


def load(
    dsn: str,
    dataset_name: str,
    uri: str,
    run: RunInfo,
    key: bytes | None,
    accept_implausible: bool = False,
    accept_new_key: bool = False,
) -> dict:
    """Load one extract found in its source; refused if the source holds another file
    for the same period."""
    period = DATASETS[dataset_name].period_from_file(file_name(uri))
    _, by_period = _extracts_by_period(dataset_name)
    others = [u for u in by_period.get(period, []) if u != uri] if period else []
    options = LoadOptions(
        accept_implausible=accept_implausible,
        accept_new_key=accept_new_key,
        conflicts=tuple(others),
    )
    result = load_extract(dsn, dataset_name, uri, run=run, key=key, options=options)
    return asdict(result)
