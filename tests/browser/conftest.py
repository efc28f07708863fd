"""Fixtures every browser test file shares: Playwright, a fresh Chromium page, an offline page.

Without Chromium or Playwright the tests skip with the reason, except under ``CI=true``,
where a missing browser is a failure.
"""

from __future__ import annotations

import os

import browser_harness as bh
import pytest


@pytest.fixture(scope="module")
def playwright():
    reason = bh.browser_missing_reason()
    if reason:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"browser tests must run in CI (CI=true), but: {reason}")
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        yield pw


@pytest.fixture
def page(playwright):
    """A fresh Chromium page; page errors are collected in ``page.adaviz_errors``."""
    with bh.chromium(playwright) as context:
        page = context.new_page()
        page.adaviz_errors = []
        page.on("pageerror", lambda exc: page.adaviz_errors.append(str(exc)))
        yield page


@pytest.fixture
def offline(playwright):
    """A Chromium page that may load file: URLs only; console errors and page errors are
    collected in ``page.adaviz_errors``, refused requests in ``page.adaviz_refused``."""
    with bh.chromium(playwright) as context:
        refused = []

        def route(route):
            if route.request.url.startswith("file:"):
                route.continue_()
            else:
                refused.append(route.request.url)
                route.abort()

        context.route("**/*", route)
        page = context.new_page()
        page.adaviz_errors = []
        page.adaviz_refused = refused
        page.on("pageerror", lambda exc: page.adaviz_errors.append(str(exc)))
        page.on(
            "console",
            lambda message: (
                page.adaviz_errors.append(message.text) if message.type == "error" else None
            ),
        )
        yield page
