"""/api/docs/ in a real headless Chromium: Swagger UI renders every operation from our
own static files, under the site's Content Security Policy, without leaving the host."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
import requests

from logplatform.processes import web_command
from tests.conftest import Process, child_env, free_port

pytestmark = [pytest.mark.e2e, pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")


@pytest.fixture
def server(tmp_path):
    port = free_port()
    proc = Process(
        web_command(f"127.0.0.1:{port}"),
        tmp_path / "web.log",
        child_env(),
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                requests.get(f"{url}/api/schema/", timeout=10)
                break
            except requests.RequestException:
                time.sleep(0.3)
        else:
            raise AssertionError(proc.output())
        yield url
    finally:
        proc.stop()


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

    assert operations == 32
    assert "logplatform API" in title
    assert requested and all(url.startswith(server) or url.startswith("data:") for url in requested), (
        requested
    )
    assert not [m for m in console if "Content Security Policy" in m or "Refused to" in m], console
