"""Sending Celery tasks from a request without ever making the request wait on the broker.

Infrastructure only, no domain: a fast-failing connection pool (``publish_task``) and a
per-process background sender that turns any number of requests into one message
(``CoalescingSender``). Callers run in or right after a request, so nothing here blocks for
long or raises: a broker outage is logged and left to the caller's retry (usually beat).
"""

from __future__ import annotations

import functools
import logging
import os
import threading
import time
from collections.abc import Callable
from typing import Any

import kombu.pools

logger = logging.getLogger(__name__)


def publish_task(task: Any, *args: Any) -> bool:
    """Send a task through a connection that fails fast; log and return False if it cannot.

    One immediate reconnect covers a pooled connection gone stale (broker restarted); beyond
    that nothing waits, because callers run in or right after a request.
    """
    try:
        with _fast_fail_connections(task.app.conf.broker_url).acquire(block=True, timeout=2) as conn:
            task.apply_async(
                args=args,
                connection=conn,
                retry=True,
                retry_policy={
                    "max_retries": 1,
                    "interval_start": 0,
                    "interval_step": 0.2,
                    "interval_max": 0.2,
                },
            )
    except Exception:
        logger.warning("could not enqueue %s; will be retried or picked up by beat", task.name, exc_info=True)
        return False
    return True


class CoalescingSender:
    """A per-process background thread that calls ``send`` once for any number of ``request()``
    calls made meanwhile (restarted after a fork).

    After a first request it lingers ``linger_seconds``, so a burst becomes one message; when
    ``send`` returns False it waits ``retry_seconds`` and tries again. ``request()`` itself never
    blocks on the broker.
    """

    def __init__(
        self, send: Callable[[], bool], *, name: str, linger_seconds: float, retry_seconds: float
    ) -> None:
        self._send = send
        self._name = name
        self.linger_seconds = linger_seconds
        self.retry_seconds = retry_seconds
        self._wanted = threading.Event()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._pid = 0

    def request(self) -> None:
        self._wanted.set()
        if self._thread is not None and self._pid == os.getpid() and self._thread.is_alive():
            return
        with self._lock:
            if self._thread is None or self._pid != os.getpid() or not self._thread.is_alive():
                self._wanted = threading.Event()
                self._wanted.set()
                self._pid = os.getpid()
                self._thread = threading.Thread(target=self._run, name=self._name, daemon=True)
                self._thread.start()

    def _run(self) -> None:
        while True:
            self._wanted.wait()
            time.sleep(self.linger_seconds)
            self._wanted.clear()
            if not self._send():
                self._wanted.set()
                time.sleep(self.retry_seconds)

    def flush(self) -> None:
        """At exit: send a request still pending, so a stopping process does not wait for beat."""
        if self._wanted.is_set() and self._pid == os.getpid():
            self._send()


@functools.lru_cache(maxsize=4)
def _fast_fail_connections(broker_url: str) -> Any:
    from celery import current_app

    options = {
        **(current_app.conf.broker_transport_options or {}),
        "max_retries": 0,
        "socket_connect_timeout": 2,
        "socket_timeout": 5,
    }
    return kombu.pools.connections[current_app.connection_for_write(broker_url, transport_options=options)]
