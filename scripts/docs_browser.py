"""The headless Chromium the docs' browser test drives (tests/test_docs_browser.py).

A system browser, never one downloaded at run time: ``$CHROMIUM`` if set, else the first of
:data:`CANDIDATES` on the ``PATH`` (Debian's package installs ``/usr/bin/chromium``; GitHub's
Ubuntu runners have Google Chrome). ``make browser`` runs this module and installs Debian's
``chromium`` when it exits 1.

    python -m scripts.docs_browser      # prints the browser's path; exit 1 if there is none
"""

from __future__ import annotations

import os
import shutil
import sys

CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")

#: Flags for a headless run as root in a container: no sandbox (it needs user namespaces), no
#: GPU, and nothing that reaches the network on its own (updates, sync, QUIC probes).
HEADLESS_ARGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
)


def find_browser(environ: dict[str, str] | None = None) -> str | None:
    """The path of the browser to use, or None.

    >>> find_browser({"CHROMIUM": "/opt/my/chrome"})
    '/opt/my/chrome'
    """
    environ = dict(os.environ) if environ is None else environ
    if environ.get("CHROMIUM"):
        return environ["CHROMIUM"]
    for name in CANDIDATES:
        path = shutil.which(name, path=environ.get("PATH"))
        if path:
            return path
    return None


def main() -> int:
    path = find_browser()
    if path is None:
        print(f"no browser found (looked for $CHROMIUM and {', '.join(CANDIDATES)})", file=sys.stderr)
        return 1
    print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
