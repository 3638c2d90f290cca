"""harnesssync: the Python client of harnesssyncd, HarnessSync's state daemon.

- Client: one JSON-RPC 2.0 connection, started on demand (docs/PROTOCOL.md).
- StateManager: a drop-in for HarnessSync's StateManager, served by the daemon.
Standard library only; Python 3.9 or later.
"""
from .client import Client, LockResult
from .errors import (CallTimeout, ClientClosed, ConfigError, ConnectionClosed, DaemonUnavailable,
                     HarnessSyncError, InternalError, InvalidParams, InvalidRequest, LockNotHeld, MessageTooLarge,
                     MethodNotFound, NoSuchTrigger, ParseError, ProtocolError, RpcError, ShuttingDown, SpawnError,
                     StateError, StateWriteFailed, WrongDaemon)
from .paths import resolve_state_dir, runtime_dir, socket_path
from .state_manager import StateManager

__version__ = "0.1.0"

__all__ = [
    "Client", "LockResult", "StateManager", "socket_path", "runtime_dir", "resolve_state_dir",
    "HarnessSyncError", "ConfigError", "DaemonUnavailable", "SpawnError", "WrongDaemon", "ConnectionClosed",
    "CallTimeout", "ProtocolError", "ClientClosed", "StateError", "RpcError", "ParseError", "InvalidRequest",
    "MethodNotFound", "InvalidParams", "InternalError", "ShuttingDown", "MessageTooLarge", "StateWriteFailed",
    "LockNotHeld", "NoSuchTrigger", "__version__",
]
