"""``/readyz`` says each check as it is: true when it holds, and ``draining`` true only while the daemon drains."""

from __future__ import annotations

import json

import pytest

from dialer.service.health import readiness


@pytest.mark.parametrize(("checks", "draining", "status"), [
    ({"store": True, "writer": True}, False, 200),
    ({"store": True, "writer": True}, True, 503),
    ({"store": False, "writer": True}, False, 503),
])
def test_readiness_says_each_check_as_it_is(checks, draining, status):
    answer = readiness(checks, draining)
    assert answer.status == status
    assert json.loads(answer.body) == {**checks, "draining": draining}
