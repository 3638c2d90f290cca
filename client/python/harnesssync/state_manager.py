"""harnesssync.StateManager: HarnessSync 0.1.4's StateManager, served by harnesssyncd.

A drop-in for HarnessSync's src/state_manager.py: the same constructor,
methods, properties, arguments and return values, but every read and every
change goes to the daemon, which is the only writer of state.json. This
class never opens state.json. HarnessSync adopts it with one line appended
to its src/state_manager.py (docs/HARNESSSYNC.md):

    from harnesssync.state_manager import StateManager  # noqa: E402,F401,F811  harnesssyncd

and other code with `from harnesssync import StateManager`.

Differences that follow from the daemon owning the file (docs in README.md):
- No cached copy: every getter asks the daemon, so a StateManager sees the
  changes of every other process at once (the original saw only its own).
- get_all_status() returns a fresh copy; changing it changes nothing.
- The default state dir honours $HARNESSSYNC_HOME (as hsctl and the daemon
  do) before ~/.harnesssync.
- The layout is the daemon's one rule (--schema, else $HARNESSSYNC_SCHEMA,
  else 2, as HarnessSync 0.1.4 writes): this class passes no --schema, so
  the file looks the same whichever client started the daemon.
- Every failure raises StateError whose message names the method and the
  cause; the underlying harnesssync error is its __cause__.
"""
from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, TypeVar

from . import paths, sparkline
from .client import Client
from .errors import ClientClosed, ConnectionClosed, HarnessSyncError, ShuttingDown, StateError

T = TypeVar("T")

HEALTH_HISTORY_MAX = 90


def _opt(params: Dict[str, Any], name: str, value: Any) -> Dict[str, Any]:
    if value is not None:
        params[name] = value
    return params


class StateManager:
    """Sync state with hash-based drift detection, kept by harnesssyncd.

    StateManager(state_dir=None): state_dir defaults to $HARNESSSYNC_HOME,
    else ~/.harnesssync. Connects at once (starting the daemon when nobody
    answers) and checks that the daemon serves this state dir. Keyword-only
    extras: socket_path (else $HARNESSSYNC_SOCKET, else docs/PROTOCOL.md's
    rule), timeout (seconds per call, default 30), daemon (the harnesssyncd to start).
    """

    def __init__(self, state_dir: Optional[Path] = None, *, socket_path: Optional[str] = None,
                 timeout: float = 30.0, daemon: Optional[str] = None):
        try:
            self.state_dir = paths.resolve_state_dir(state_dir)
        except HarnessSyncError as e:
            raise StateError("StateManager: %s" % e) from e
        self._state_file_path = self.state_dir / "state.json"
        self._socket_path = socket_path
        self._timeout = timeout
        self._daemon = daemon
        self._client_lock = threading.Lock()
        self._client: Optional[Client] = None
        self._run("StateManager", self._connected)

    # -- connection -------------------------------------------------------

    def _connected(self) -> Client:
        with self._client_lock:
            c = self._client
            if c is None or c.closed:
                if c is not None and os.getpid() == c._pid:
                    c.close()
                c = Client(self._socket_path, state_dir=self.state_dir, timeout=self._timeout,
                           daemon=self._daemon, check_state_dir=True)
                self._client = c
            return c

    def _run(self, what: str, fn: Callable[..., T], *args: Any) -> T:
        # One retry on a fresh connection when the daemon went away (stopped
        # by `hsctl shutdown` for an upgrade, restarted, or we forked): by the
        # protocol, a change whose answer was not sent was not applied, and
        # -32000 means it was refused, so the retry applies it exactly once.
        for attempt in (0, 1):
            try:
                return fn(*args)
            except (ConnectionClosed, ClientClosed, ShuttingDown) as e:
                if attempt == 1:
                    raise StateError("%s: %s" % (what, e)) from e
                self.close()  # the next attempt connects afresh (a stopping daemon keeps answering -32000)
            except HarnessSyncError as e:
                raise StateError("%s: %s" % (what, e)) from e
        raise AssertionError("unreachable")

    def _call(self, what: str, method: str, params: Optional[Dict[str, Any]] = None) -> Any:
        return self._run(what, lambda: self._connected().call(method, params))

    def close(self) -> None:
        """Closes the connection (not part of HarnessSync's API; optional)."""
        with self._client_lock:
            if self._client is not None and os.getpid() == self._client._pid:
                self._client.close()
            self._client = None

    def __enter__(self) -> "StateManager":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    # -- HarnessSync's API --------------------------------------------------

    @property
    def state_file(self) -> Path:
        """The state file path (<state dir>/state.json)."""
        return self._state_file_path

    @property
    def last_sync(self) -> Optional[str]:
        """The top-level last_sync, or None."""
        return self.get_all_status().get("last_sync")

    @property
    def _state(self) -> Dict[str, Any]:
        """A read-only snapshot of the document, for callers that peeked at
        the original's private _state. Changing it changes nothing."""
        return self.get_all_status()

    def record_sync(self, target: str, scope: str, file_hashes: Dict[str, str], sync_methods: Dict[str, str],
                    synced: int, skipped: int, failed: int, account: Optional[str] = None) -> None:
        """Records a sync of `target` (state.record): replaces its entry,
        status success/partial/failed from the counts, last_sync now."""
        params = {"target": target, "scope": scope, "file_hashes": file_hashes, "sync_methods": sync_methods,
                  "synced": synced, "skipped": skipped, "failed": failed}
        self._call("record_sync(%s)" % target, "state.record", _opt(params, "account", account))

    def detect_drift(self, target: str, current_hashes: Dict[str, str], account: Optional[str] = None) -> List[str]:
        """Paths whose hash changed or that were added (in current_hashes'
        order), then stored paths missing from current_hashes (state.drift)."""
        params = _opt({"target": target, "current_hashes": current_hashes}, "account", account)
        return self._call("detect_drift(%s)" % target, "state.drift", params)["drifted"]

    def get_target_status(self, target: str) -> Optional[Dict[str, Any]]:
        """The flat (no account) entry of `target`, or None."""
        return self._call("get_target_status(%s)" % target, "state.target", {"target": target})

    def get_account_target_status(self, account: str, target: str) -> Optional[Dict[str, Any]]:
        """The entry of `target` in `account`, or None."""
        return self._call("get_account_target_status(%s, %s)" % (account, target), "state.target",
                          {"target": target, "account": account})

    def get_account_status(self, account: str) -> Optional[Dict[str, Any]]:
        """The account's object (last_sync, targets, plugins?), or None."""
        return self._call("get_account_status(%s)" % account, "state.account", {"account": account})

    def list_state_accounts(self) -> List[str]:
        """The account names, sorted."""
        return self._call("list_state_accounts", "state.accounts")

    def get_all_status(self) -> Dict[str, Any]:
        """The whole document (a copy)."""
        return self._call("get_all_status", "state.all")

    def clear_target(self, target: str) -> None:
        """Removes the flat entry of `target`; nothing happens when there is none."""
        self._call("clear_target(%s)" % target, "state.clear", {"target": target})

    @classmethod
    def migrate_from_cc2all(cls, old_state_dir: Optional[Path] = None,
                            new_state_dir: Optional[Path] = None) -> "StateManager":
        """A StateManager on new_state_dir (default ~/.harnesssync) that has
        copied last_sync from <old_state_dir>/sync-state.json (default
        ~/.cc2all) when that exists (state.migrate_cc2all). The old dir is
        never touched."""
        old = Path(old_state_dir) if old_state_dir is not None else Path.home() / ".cc2all"
        sm = cls(state_dir=new_state_dir if new_state_dir is not None else Path.home() / ".harnesssync")
        # Absolute: the daemon's working dir and home are not ours.
        sm._call("migrate_from_cc2all", "state.migrate_cc2all", {"old_state_dir": os.path.abspath(old)})
        return sm

    def record_plugin_sync(self, plugins_metadata: Dict[str, Any], account: Optional[str] = None) -> None:
        """Replaces the whole plugins section (flat, or the account's) with
        plugins_metadata; no merge (plugins.record)."""
        params = _opt({"plugins": dict(plugins_metadata)}, "account", account)
        self._call("record_plugin_sync", "plugins.record", params)

    def detect_plugin_drift(self, current_plugins: Dict[str, Any], account: Optional[str] = None) -> Dict[str, str]:
        """{name: "removed" | "added" | "version_changed: OLD -> NEW" |
        "mcp_count_changed: OLD -> NEW"} against the stored plugins (plugins.drift)."""
        params = _opt({"current": dict(current_plugins)}, "account", account)
        return self._call("detect_plugin_drift", "plugins.drift", params)["drift"]

    def get_plugin_status(self, account: Optional[str] = None) -> Dict[str, Any]:
        """The stored plugins (flat, or the account's); {} when none."""
        return self._call("get_plugin_status", "plugins.status", _opt({}, "account", account))

    def get_global_dry_run(self) -> bool:
        """The persistent global dry-run flag (absent reads as False)."""
        return bool(self._call("get_global_dry_run", "settings.dry_run")["global_dry_run"])

    def set_global_dry_run(self, enabled: bool) -> None:
        """Sets the persistent global dry-run flag."""
        self._call("set_global_dry_run", "settings.dry_run", {"enabled": bool(enabled)})

    def record_health_score(self, target: str, score: int, label: str = "") -> None:
        """Appends {timestamp, score clamped to 0..100, label} to the target's
        health history, keeping the last 90 (health.record)."""
        self._call("record_health_score(%s)" % target, "health.record",
                   {"target": target, "score": score, "label": label})

    def get_score_history(self, target: str, n: int = 30) -> List[Dict[str, Any]]:
        """The last n health entries of `target`, oldest first ([] when none).

        The daemon serves n from 1 to 90 (it keeps 90); any other n asks for
        all 90 and cuts here exactly as HarnessSync did (n <= 0 included)."""
        in_range = isinstance(n, int) and not isinstance(n, bool) and 1 <= n <= HEALTH_HISTORY_MAX
        entries = self._call("get_score_history(%s)" % target, "health.history",
                             {"target": target, "n": n if in_range else HEALTH_HISTORY_MAX})
        return entries if in_range else sparkline.last_n(entries, n)

    def format_score_sparkline(self, target: str, width: int = 20) -> str:
        """A sparkline of the last `width` health scores and the newest score,
        e.g. "▄▆█▇▅▃▂▄▆█  84/100", or "(no history)" (computed here)."""
        return sparkline.render(self.get_score_history(target, n=width), width)
