"""Browser fixtures shared with the staff portal's tests (Playwright + Debian's chromium)."""

from tests.portal.conftest import _browser_marker, browser_page  # noqa: F401
