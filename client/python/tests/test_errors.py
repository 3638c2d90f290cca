"""Typed RPC errors, pure Python."""
import pytest

import harnesssync
from harnesssync.errors import RpcError


@pytest.mark.parametrize("code,cls", [(-32700, harnesssync.ParseError), (-32600, harnesssync.InvalidRequest),
                                      (-32601, harnesssync.MethodNotFound), (-32602, harnesssync.InvalidParams),
                                      (-32603, harnesssync.InternalError), (-32000, harnesssync.ShuttingDown),
                                      (-32001, harnesssync.MessageTooLarge), (1, harnesssync.StateWriteFailed),
                                      (2, harnesssync.LockNotHeld), (42, RpcError)])
def test_subclass_per_code(code, cls):
    e = RpcError.from_error({"code": code, "message": "m", "data": {"x": 1}}, "some.method")
    assert type(e) is cls and e.code == code and e.message == "m" and e.data == {"x": 1}
    assert str(e) == "some.method: m (error %d)" % code
    assert cls.code == code or cls is RpcError


def test_messages_name_the_cause_once():
    e = RpcError.from_error({"code": -32602, "message": "Invalid params: target: bad",
                             "data": {"field": "target", "reason": "bad"}})
    assert str(e) == "Invalid params: target: bad (error -32602)"
    assert e.field == "target" and e.reason == "bad"
    e = RpcError.from_error({"code": 1, "message": "state write failed",
                             "data": {"errno": 28, "path": "/s/state.json", "reason": "No space left on device"}})
    assert str(e) == "state write failed: No space left on device (error 1)"


def test_malformed_error_objects_still_make_errors():
    e = RpcError.from_error({"code": "x", "message": 5})
    assert type(e) is RpcError and e.code == 0 and "error without a message" in str(e)


def test_hierarchy():
    assert issubclass(harnesssync.CallTimeout, TimeoutError)
    assert issubclass(harnesssync.ConnectionClosed, ConnectionError)
    assert issubclass(harnesssync.SpawnError, harnesssync.DaemonUnavailable)
    for name in harnesssync.__all__:
        obj = getattr(harnesssync, name)
        if isinstance(obj, type) and issubclass(obj, Exception):
            assert issubclass(obj, harnesssync.HarnessSyncError)
