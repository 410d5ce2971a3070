# -*- coding: utf-8 -*-
# Copyright: ha.redis contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The write pause of plugins/module_utils/_switchover.py always ends, with a fake client (no server)."""

from __future__ import annotations

import pytest
from ansible_collections.ha.redis.plugins.module_utils._switchover import Switchover

P = "10.0.0.1:6379"


class FakeClient:
    def __init__(self, unpause_failures=0):
        self.sent = []
        self.unpause_failures = unpause_failures

    def execute_command(self, *args):
        self.sent.append(" ".join(str(a) for a in args))
        if args[:2] == ("CLIENT", "UNPAUSE") and self.unpause_failures:
            self.unpause_failures -= 1
            raise ConnectionError("connection reset")
        return "OK"


def job(client, zero_loss=True):
    switchover = Switchover(["10.0.0.1:26379"], "main", None, None, zero_loss=zero_loss, pause_timeout_ms=4000)
    switchover._clients[P] = client
    return switchover


def test_the_pause_is_released_once_after_the_block():
    client = FakeClient()
    switchover = job(client)
    with switchover.write_pause(P) as pause:
        assert pause.active and client.sent == ["CLIENT PAUSE 4000 WRITE"]
    assert not pause.active
    assert client.sent == ["CLIENT PAUSE 4000 WRITE", "CLIENT UNPAUSE"]
    assert switchover.commands == ["%s: CLIENT PAUSE 4000 WRITE" % P, "%s: CLIENT UNPAUSE" % P]


def test_an_error_in_the_block_unpauses_and_propagates():
    client = FakeClient(unpause_failures=1)
    switchover = job(client)
    with pytest.raises(RuntimeError, match="boom"), switchover.write_pause(P):
        raise RuntimeError("boom")
    assert client.sent == ["CLIENT PAUSE 4000 WRITE", "CLIENT UNPAUSE", "CLIENT UNPAUSE"]
    assert switchover.warnings == []


def test_a_failed_release_is_retried_then_reported_and_raised():
    client = FakeClient(unpause_failures=4)
    switchover = job(client)
    with pytest.raises(ConnectionError), switchover.write_pause(P):
        pass
    assert client.sent.count("CLIENT UNPAUSE") == 4
    assert switchover.warnings == ["CLIENT UNPAUSE on %s failed: connection reset; the pause ends by itself after "
                                   "4000 ms" % P]


def test_without_zero_loss_nothing_is_paused():
    client = FakeClient()
    switchover = job(client, zero_loss=False)
    with switchover.write_pause(P) as pause:
        pause.renew()
    assert client.sent == [] and pause.elapsed_ms() >= 0
