"""The exceptions of the harnesssync package.

Every exception derives from HarnessSyncError, and its message names the
cause (the daemon's own reason when the daemon gave one), in one line.
"""
from __future__ import annotations

from typing import Any, Dict, Optional, Type


class HarnessSyncError(Exception):
    """Base class of everything this package raises."""


class ConfigError(HarnessSyncError):
    """A bad option or environment: an unusable runtime dir, a socket path
    too long for a Unix socket address, a state dir that cannot be found."""


class DaemonUnavailable(HarnessSyncError, ConnectionError):
    """Nobody answers on the socket, and the daemon was not started
    (autostart is off, or HARNESSSYNC_NO_SPAWN is set)."""


class SpawnError(DaemonUnavailable):
    """harnesssyncd was started and failed: the message carries its reason
    ("ERROR <reason>" on its readiness pipe), or points at its log."""


class WrongDaemon(HarnessSyncError):
    """The daemon on the socket serves another state dir than the one named."""


class ConnectionClosed(HarnessSyncError, ConnectionError):
    """The connection ended before the answer came. By the protocol, a change
    whose answer was not sent was not applied, so the call may be retried."""


class CallTimeout(HarnessSyncError, TimeoutError):
    """No answer within the call's timeout. The call may still be applied."""


class ProtocolError(HarnessSyncError):
    """The daemon sent something that is not a JSON-RPC 2.0 answer."""


class ClientClosed(HarnessSyncError):
    """The Client was closed, or is used in a child process after fork()."""


class StateError(HarnessSyncError):
    """What StateManager raises: the message names the method and the cause;
    the exception it wraps is its __cause__."""


class RpcError(HarnessSyncError):
    """A JSON-RPC error answer: `code`, `message` and `data` as the daemon
    sent them. Known codes get a subclass (InvalidParams for -32602, ...)."""

    code: int = 0

    def __init__(self, code: int, message: str, data: Any = None, method: Optional[str] = None):
        self.code = code
        self.message = message
        self.data = data
        self.method = method
        text = message
        reason = data.get("reason") if isinstance(data, dict) else None
        if isinstance(reason, str) and reason not in message:  # the daemon often says it already
            field = data.get("field")
            text += ": %s: %s" % (field, reason) if isinstance(field, str) else ": %s" % reason
        prefix = "%s: " % method if method else ""
        super().__init__("%s%s (error %d)" % (prefix, text, code))

    @staticmethod
    def from_error(error: Dict[str, Any], method: Optional[str] = None) -> "RpcError":
        code = error.get("code")
        if not isinstance(code, int) or isinstance(code, bool):
            code = 0
        message = error.get("message")
        if not isinstance(message, str):
            message = "error without a message"
        cls = _BY_CODE.get(code, RpcError)
        return cls(code, message, error.get("data"), method)


class ParseError(RpcError):
    """-32700: the daemon could not parse what it was sent."""


class InvalidRequest(RpcError):
    """-32600: not a valid request (or an empty or oversized batch)."""


class MethodNotFound(RpcError):
    """-32601: the daemon does not serve this method (data: {"method"})."""


class InvalidParams(RpcError):
    """-32602: a parameter is missing, unknown, of the wrong type or out of
    range (data: {"field", "reason"})."""

    @property
    def field(self) -> Optional[str]:
        return self.data.get("field") if isinstance(self.data, dict) else None

    @property
    def reason(self) -> Optional[str]:
        return self.data.get("reason") if isinstance(self.data, dict) else None


class InternalError(RpcError):
    """-32603: the daemon failed internally."""


class ShuttingDown(RpcError):
    """-32000: the daemon is stopping; the request was not applied."""


class MessageTooLarge(RpcError):
    """-32001: a limit: the message was over the daemon's size limit, or the
    connection holds or waits for too many lock names (data: {"limit"})."""


class StateWriteFailed(RpcError):
    """1: the state write failed; nothing was applied
    (data: {"errno", "path", "reason"})."""


class LockNotHeld(RpcError):
    """2: lock.release of a lock this connection does not hold."""


class NoSuchTrigger(RpcError):
    """2 from trigger.remove: there is no trigger of that name (data: {"name"})."""


_BY_CODE: Dict[int, Type[RpcError]] = {
    -32700: ParseError,
    -32600: InvalidRequest,
    -32601: MethodNotFound,
    -32602: InvalidParams,
    -32603: InternalError,
    -32000: ShuttingDown,
    -32001: MessageTooLarge,
    1: StateWriteFailed,
    2: LockNotHeld,
}
for _code, _cls in _BY_CODE.items():
    _cls.code = _code
