"""uvicorn's server, exiting 0 after a SIGTERM."""

from __future__ import annotations

import signal

import uvicorn


class GracefulServer(uvicorn.Server):
    """On SIGTERM uvicorn stops taking connections and answers the requests in flight, then raises the caught signal
    again, so that the process dies of it (exit status 143). A service manager asked the server to stop, and it
    did: here the shutdown ends with status 0."""

    def handle_exit(self, sig, frame) -> None:
        super().handle_exit(sig, frame)
        if sig == signal.SIGTERM and sig in self._captured_signals:
            self._captured_signals.remove(sig)
