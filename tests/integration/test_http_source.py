"""Extracts pulled from URIs: HTTP from a real local web server (an index page lists the
files), and an fsspec object store."""

import functools
import http.server
import threading

import psycopg
import pytest

from cakupan.loader import load_extract
from cakupan.sources import list_extracts
from tests.helpers import person, write_csv


@pytest.fixture
def http_folder(tmp_path):
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(tmp_path))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield tmp_path, f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


def test_list_and_load_over_http(dsn, key, http_folder):
    folder, url = http_folder
    write_csv(folder / "enrollment_2025-01.csv.gz", [person(i) for i in range(25)], gz=True)
    (folder / "README.txt.bak").write_text("not an extract")
    uris = list_extracts(url)
    assert uris == [url + "enrollment_2025-01.csv.gz"]
    result = load_extract(dsn, "enrollment", uris[0], key=key)
    assert result.rows_loaded == 25
    with psycopg.connect(dsn) as conn:
        source = conn.execute(
            "select source_uri from audit.extract_loads where load_id = %s", (result.load_id,)
        ).fetchone()[0]
    assert source == uris[0]


def test_object_storage_uri(dsn, key, tmp_path):
    """Any fsspec filesystem works as a source; the in-memory one stands in for s3:// here."""
    import fsspec

    local = write_csv(tmp_path / "enrollment_2025-01.csv", [person(i) for i in range(12)])
    fsspec.filesystem("memory").pipe(
        "/bucket/landing/enrollment/enrollment_2025-01.csv", local.read_bytes()
    )
    uris = list_extracts("memory://bucket/landing/enrollment")
    assert [u.rsplit("/", 1)[-1] for u in uris] == ["enrollment_2025-01.csv"]
    assert uris[0].startswith("memory://")
    assert load_extract(dsn, "enrollment", uris[0], key=key).rows_loaded == 12
