"""Stand-in HTTP servers the tests run in a thread of their own (stdlib ``http.server``) on
127.0.0.1 and a free port: a quiet handler that answers JSON, a quiet one that serves a folder,
and ``serving`` that starts one and stops it at the end.

    class Handler(JSONHandler):
        def do_GET(self) -> None:
            self.answer(200, {"data": {}})

    with serving(Handler) as origin:  # "http://127.0.0.1:<port>"
        ...
    with serving(FolderHandler.of(site)) as origin:
        ...
"""

from __future__ import annotations

import contextlib
import functools
import json
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any


class JSONHandler(BaseHTTPRequestHandler):
    """Logs nothing; ``answer`` sends a JSON body with its length."""

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def answer(self, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


class FolderHandler(SimpleHTTPRequestHandler):
    """Serves the files of a folder (``FolderHandler.of(path)``) and logs nothing."""

    def log_message(self, format: str, *args: Any) -> None:
        pass

    @classmethod
    def of(cls, folder: Path) -> Callable[..., FolderHandler]:
        return functools.partial(cls, directory=str(folder))


@contextlib.contextmanager
def serving(handler: Callable[..., BaseHTTPRequestHandler]) -> Iterator[str]:
    """``handler``'s server in a daemon thread, its origin yielded; shut down and closed after."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
