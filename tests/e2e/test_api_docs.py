"""/api/docs/ in a real headless Chromium: Swagger UI renders every operation from our
own static files, under the site's Content Security Policy, without leaving the host."""

from __future__ import annotations

import json
import os
import urllib.request
from pathlib import Path

import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")


@pytest.fixture
def server(web_server) -> str:
    return web_server()


def test_the_docs_render_every_operation_from_local_files(server, tmp_path):
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing; `make test` installs Debian's chromium")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    from playwright.sync_api import sync_playwright

    requested: list[str] = []
    console: list[str] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--no-first-run",
                "--disable-background-networking",
            ],
        )
        try:
            page = browser.new_page()
            page.on("request", lambda r: requested.append(r.url))
            page.on("console", lambda m: console.append(m.text))
            page.goto(f"{server}/api/docs/")
            page.wait_for_selector(".opblock", timeout=60_000)
            operations = page.locator(".opblock").count()
            title = page.locator(".information-container .title").inner_text()
            page.screenshot(path=str(tmp_path / "api-docs.png"), full_page=True)
        finally:
            browser.close()

    # One block per operation the schema declares: a new endpoint changes both.
    assert operations == len(_schema_operations(server)) > 30
    assert "logplatform API" in title
    assert requested and all(url.startswith(server) or url.startswith("data:") for url in requested), (
        requested
    )
    assert not [m for m in console if "Content Security Policy" in m or "Refused to" in m], console


def _schema_operations(server: str) -> list[tuple[str, str]]:
    request = urllib.request.Request(
        f"{server}/api/schema/?format=json", headers={"Accept": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        schema = json.load(response)
    methods = {"get", "put", "post", "delete", "patch", "head", "options", "trace"}
    return [(path, method) for path, item in schema["paths"].items() for method in item if method in methods]
