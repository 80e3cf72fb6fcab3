"""GX Data Docs after a real gate run load nothing from the internet: every script,
style and image is a local file, and the pages' JavaScript (bootstrap-table) renders in
a headless browser that cannot resolve any host."""

from __future__ import annotations

import re
from pathlib import Path

from cakupan.data_docs_offline import CDN_FILES, fetch, vendor_dir
from cakupan.quality import DATA_DOCS
from tests.helpers import chromium, needs_browser

NO_NETWORK = "--host-resolver-rules=MAP * ~NOTFOUND"
LOADED = re.compile(r'<(?:script|img|link)\b[^>]*?\b(?:src|href)="([^"]+)"')


def render(tmp_path, page: Path) -> str:
    return chromium(tmp_path, NO_NETWORK, "--virtual-time-budget=5000", "--dump-dom", page.as_uri())


def test_pages_load_only_local_files(published):
    fetch(DATA_DOCS)  # make test fetched them already; nothing to do then
    pages = list(DATA_DOCS.rglob("*.html"))
    assert len(pages) > 10
    for page in pages:
        for address in LOADED.findall(page.read_text()):
            assert not re.match(r"(https?:)?//", address), f"{page.name} loads {address}"
            assert (page.parent / address).resolve().is_file(), f"{page.name}: {address}"
    vendored = vendor_dir(DATA_DOCS)
    assert all((vendored / package / path).is_file() for package, path in CDN_FILES.values())


@needs_browser
def test_index_renders_its_tables_without_network(published, tmp_path):
    dom = render(tmp_path, DATA_DOCS / "index.html")
    rows = dom.count("data-index=")
    assert 'class="bootstrap-table bootstrap4"' in dom and rows >= 10
    # The same page with GX's CDN links, as GX wrote it, renders no table offline: the
    # check above can fail.
    cdn = (DATA_DOCS / "index.html").read_text()
    prefix = "../vendor"
    for url, (package, path) in CDN_FILES.items():
        cdn = cdn.replace(f'"{prefix}/{package}/{path}"', f'"{url}"')
    as_gx_wrote_it = DATA_DOCS / "index_cdn.html"
    as_gx_wrote_it.write_text(cdn)
    try:
        assert "data-index=" not in render(tmp_path, as_gx_wrote_it)
    finally:
        as_gx_wrote_it.unlink()
