"""The background sender under audit sealing (apps/common/broker.py): bursts coalesce, failures retry."""

from __future__ import annotations

import threading

from apps.common.broker import CoalescingSender


def test_a_burst_of_requests_becomes_one_message() -> None:
    sent: list[int] = []
    done = threading.Event()

    def send() -> bool:
        sent.append(1)
        done.set()
        return True

    # A linger far longer than 100 in-process calls take: they all land in one window.
    sender = CoalescingSender(send, name="test-sender", linger_seconds=0.5, retry_seconds=60)
    for _ in range(100):
        sender.request()
    assert done.wait(10)
    assert sent == [1]


def test_a_failed_send_is_tried_again() -> None:
    outcomes = [False, True]
    calls: list[bool] = []
    done = threading.Event()

    def send() -> bool:
        calls.append(outcomes[len(calls)])
        if len(calls) == 2:
            done.set()
        return calls[-1]

    sender = CoalescingSender(send, name="test-sender", linger_seconds=0, retry_seconds=0)
    sender.request()
    assert done.wait(10)
    assert calls == [False, True]
