# ruff: noqa: E501  (pinned URLs and checksums read best one per line)
"""GX Data Docs that work offline: GX's page templates load Bootstrap, jQuery,
bootstrap-table, Font Awesome and Vega from five CDNs, which operators' networks (and
this project's machines) often cannot reach, and which learn who reads the pages.

`cakupan data-docs fetch` (part of `make demo` and `make test`) downloads those exact
files once from the npm registry, checks each package against its pinned sha512, and
keeps them beside the site (data_docs/vendor). After every gate run `localise` points
the pages at them with relative links, so the site opens from disk or any static server.
"""

from __future__ import annotations

import base64
import hashlib
import io
import logging
import os
import re
import tarfile
import urllib.request
from pathlib import Path

from cakupan.errors import ConfigurationError

log = logging.getLogger(__name__)

REGISTRY = os.environ.get("CAKUPAN_NPM_REGISTRY", "https://registry.npmjs.org")
# npm package -> (version, the registry's sha512 integrity of its tarball).
PACKAGES = {
    "jquery": ("3.7.1", "sha512-m4avr8yL8kmFN8psrbFFFmB/If14iN5o9nw/NgnnM+kybDJpRsAynV2BsfpTYrTRysYUdADVD7CkUUizgkpLfg=="),
    "popper.js": ("1.12.9", "sha512-s0EEi9xiSCdqz9lV4IiVH5yIZnDX/U1t0tCjB+0jXx9jW8lrR7kOpVupiUg175ogqVoudpDXHF1p6dKATCHMeg=="),
    "bootstrap": ("4.3.1", "sha512-rXqOmH1VilAt2DyPzluTi2blhk17bO7ef+zLLPlWvG494pDxcM234pJ8wTc/6R40UWizAIIMgxjvxZg5kmsbag=="),
    "bootstrap-table": ("1.19.1", "sha512-WvV+l1AI/C+zThaKmfHmi/IuayVNB0qdFyEhFx1jyZhO0oLtNJNANkCR3rvJf6Dkh72dsLElxpE/bzK9seEQLA=="),
    "bootstrap-datepicker": ("1.9.0", "sha512-9rYYbaVOheGYxjOr/+bJCmRPihfy+LkLSg4fIFMT9Od8WwWB/MB50w0JO1eBgKUMbb7PFHQD5uAfI3ArAxZRXA=="),
    "@forevolve/bootstrap-dark": ("1.1.0", "sha512-A3ucpEpxPoTVO490lZZCfjPXxv832l7mm1IxX3bXyxvgwnPGXDLyh7dWrphXKO8YBAu3EswbBEu3VSW8NRMW3A=="),
    "@fortawesome/fontawesome-free": ("6.6.0", "sha512-60G28ke/sXdtS9KZCpZSHHkCbdsOGEhIUGlwq6yhY74UpTiToIh8np7A8yphhM4BWsvNFtIvLpi4co+h9Mr9Ow=="),
    # GX asks for the latest 5.x / 6.x; these are the ones pinned here.
    "vega": ("5.33.1", "sha512-1fArfVDUqVbb5z8n+/nVQb+VNBzx8svY6CrsyTK4Ujm4yrd9I1auoKxBAPXLCavY1LcrbHUskQbGUP8gXOzyQw=="),
    "vega-lite": ("5.23.0", "sha512-l4J6+AWE3DIjvovEoHl2LdtCUkfm4zs8Xxx7INwZEAv+XVb6kR6vIN1gt3t2gN2gs/y4DYTs/RPoTeYAuEg6mA=="),
    "vega-embed": ("6.29.0", "sha512-PmlshTLtLFLgWtF/b23T1OwX53AugJ9RZ3qPE2c01VFAbgt3/GSNI/etzA/GzdrkceXFma+FDHNXUppKuM0U6Q=="),
}  # fmt: skip
# Every CDN address in GX 1.24's templates -> (package, file in it). The filter-control
# stylesheet GX takes from bootstrap-table 1.19.0 is the same extension's 1.19.1 here.
CDN_FILES = {
    "https://code.jquery.com/jquery-3.7.1.min.js": ("jquery", "dist/jquery.min.js"),
    "https://cdnjs.cloudflare.com/ajax/libs/popper.js/1.12.9/umd/popper.min.js": ("popper.js", "dist/umd/popper.min.js"),
    "https://maxcdn.bootstrapcdn.com/bootstrap/4.3.1/css/bootstrap.min.css": ("bootstrap", "dist/css/bootstrap.min.css"),
    "https://stackpath.bootstrapcdn.com/bootstrap/4.3.1/js/bootstrap.min.js": ("bootstrap", "dist/js/bootstrap.min.js"),
    "https://unpkg.com/bootstrap-table@1.19.1/dist/bootstrap-table.min.css": ("bootstrap-table", "dist/bootstrap-table.min.css"),
    "https://unpkg.com/bootstrap-table@1.19.1/dist/bootstrap-table.min.js": ("bootstrap-table", "dist/bootstrap-table.min.js"),
    "https://unpkg.com/bootstrap-table@1.19.1/dist/extensions/filter-control/bootstrap-table-filter-control.min.js": ("bootstrap-table", "dist/extensions/filter-control/bootstrap-table-filter-control.min.js"),
    "https://unpkg.com/bootstrap-table@1.19.0/dist/extensions/filter-control/bootstrap-table-filter-control.min.css": ("bootstrap-table", "dist/extensions/filter-control/bootstrap-table-filter-control.min.css"),
    "https://unpkg.com/bootstrap-table@1.19.0/dist/extensions/filter-control/bootstrap-table-filter-control.css": ("bootstrap-table", "dist/extensions/filter-control/bootstrap-table-filter-control.css"),
    "https://cdnjs.cloudflare.com/ajax/libs/bootstrap-datepicker/1.9.0/css/bootstrap-datepicker.min.css": ("bootstrap-datepicker", "dist/css/bootstrap-datepicker.min.css"),
    "https://cdnjs.cloudflare.com/ajax/libs/bootstrap-datepicker/1.9.0/js/bootstrap-datepicker.min.js": ("bootstrap-datepicker", "dist/js/bootstrap-datepicker.min.js"),
    "https://cdn.jsdelivr.net/npm/@forevolve/bootstrap-dark@1.1.0/dist/css/bootstrap-prefers-dark.css": ("@forevolve/bootstrap-dark", "dist/css/bootstrap-prefers-dark.css"),
    "https://cdnjs.cloudflare.com/ajax/libs/font-awesome/6.6.0/css/all.min.css": ("@fortawesome/fontawesome-free", "css/all.min.css"),
    "https://cdn.jsdelivr.net/npm/vega@5": ("vega", "build/vega.min.js"),
    "https://cdn.jsdelivr.net/npm/vega-lite@5": ("vega-lite", "build/vega-lite.min.js"),
    "https://cdn.jsdelivr.net/npm/vega-embed@6": ("vega-embed", "build/vega-embed.min.js"),
}  # fmt: skip
# Folders a stylesheet above refers to (Font Awesome's ../webfonts/).
EXTRA_FOLDERS = {"@fortawesome/fontawesome-free": ("webfonts/",)}
# GX's logo comes from its S3 bucket with a timestamp per page view (a beacon): the
# same image is in the site's static/images.
_GX_IMAGE = re.compile(
    r'"https://great-expectations-web-assets\.s3\.[a-z0-9-]+\.amazonaws\.com/([\w.-]+)(?:\?[^"]*)?"'
)
# GX links its own static/ folder as if every page were at the same depth; pages of
# suites named schema.table sit one level deeper, and lose their favicon and scripts.
_GX_STATIC = re.compile(r'"(?:\./|(?:\.\./)+)static/')
_SRI = re.compile(r'\s+(?:integrity="[^"]*"|crossorigin="[^"]*")')


def vendor_dir(site: Path) -> Path:
    """Beside the site, not in it: the gate rebuilds the site from scratch every run."""
    return site.parent / "vendor"


def _wanted(package: str) -> tuple[set[str], tuple[str, ...]]:
    files = {path for pkg, path in CDN_FILES.values() if pkg == package}
    return files, EXTRA_FOLDERS.get(package, ())


def _complete(vendor: Path) -> bool:
    return all((vendor / pkg / path).is_file() for pkg, path in CDN_FILES.values())


def fetch(site: Path) -> Path:
    """Download, verify and unpack what the pages need; nothing to do when present."""
    vendor = vendor_dir(site)
    if _complete(vendor):
        return vendor
    for package, (version, integrity) in PACKAGES.items():
        name = package.rsplit("/", 1)[-1]
        url = f"{REGISTRY}/{package}/-/{name}-{version}.tgz"
        try:
            with urllib.request.urlopen(url, timeout=60) as response:
                data = response.read()
        except OSError as error:
            raise ConfigurationError(
                f"could not download {url} ({error}); Data Docs need these files once "
                "(set CAKUPAN_NPM_REGISTRY to a mirror)"
            ) from None
        digest = "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode()
        if digest != integrity:
            raise ConfigurationError(f"{url}: checksum {digest} is not the pinned {integrity}")
        files, folders = _wanted(package)
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
            for member in tar.getmembers():
                # npm tarballs wrap their files in one folder (package/, mostly).
                _, _, path = member.name.partition("/")
                if member.isfile() and (path in files or (folders and path.startswith(folders))):
                    target = vendor / package / path
                    target.parent.mkdir(parents=True, exist_ok=True)
                    target.write_bytes(tar.extractfile(member).read())
        log.info("Data Docs asset %s %s verified and unpacked", package, version)
    return vendor


def localise(site: Path) -> int:
    """Point every page of the site at the vendored files and GX's own images; returns
    pages changed. Without
    them (no `cakupan data-docs fetch` yet) the pages keep their CDN links, with a warning."""
    vendor = vendor_dir(site)
    if not _complete(vendor):
        log.warning(
            "Data Docs still load their scripts and styles from CDNs: run `cakupan data-docs "
            "fetch` once to serve them from %s",
            vendor,
        )
        return 0
    changed = 0
    for page in site.rglob("*.html"):
        html = page.read_text(encoding="utf-8")
        prefix = os.path.relpath(vendor, page.parent)
        static = os.path.relpath(site / "static", page.parent)
        new = _GX_STATIC.sub(f'"{static}/', html)
        new = _GX_IMAGE.sub(lambda m, s=static: f'"{s}/images/{m.group(1)}"', new)
        for url, (package, path) in CDN_FILES.items():
            new = new.replace(f'"{url}"', f'"{prefix}/{package}/{path}"')
        # Subresource-integrity attributes named the CDN's copy; the local one is ours.
        new = "\n".join(
            _SRI.sub("", line) if f"{prefix}/" in line else line for line in new.split("\n")
        )
        if new != html:
            page.write_text(new, encoding="utf-8")
            changed += 1
    return changed
