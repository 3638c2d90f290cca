"""The daemon's wire, as a hostile client speaks it: both framings
(docs/PROTOCOL.md, "Framing"), batches, bad lines, half messages, and the
ways a connection can end. Stdlib only, shared by the main process and the
child processes (children/)."""
import errno
import json
import socket
import time


def request(id_, method, params=None):
    m = {"jsonrpc": "2.0", "id": id_, "method": method}
    if params is not None:
        m["params"] = params
    return m


def notification(method, params=None):
    m = {"jsonrpc": "2.0", "method": method}
    if params is not None:
        m["params"] = params
    return m


def encode(obj, framing):
    """One message: "bare" (compact JSON and a newline) or "lsp"
    (Content-Length headers)."""
    body = json.dumps(obj, separators=(",", ":")).encode()
    if framing == "lsp":
        return b"Content-Length: %d\r\n\r\n" % len(body) + body
    return body + b"\n"


def record_params(target, fields):
    p = {"target": target, "scope": fields["scope"], "file_hashes": fields.get("file_hashes", {}),
         "synced": fields["synced"], "skipped": fields["skipped"], "failed": fields["failed"]}
    return p


# Bad input that the daemon must answer and then go on reading: each one ends
# on its own line and starts with "{" or "[", so it can never swallow the
# good message after it (bare JSON may span lines) nor be taken for LSP
# headers (which would end the connection: a framing error).
BAD_LINES = {
    "parse": (b'{"jsonrpc": "2.0", "id": 7, "method": }\n', 1),   # -32700
    "garbage": (b"{not json at all]\n", 1),                         # -32700
    "not-request": (b'{"hello": "world"}\n', 1),                    # -32600
    "wrong-version": (b'{"jsonrpc": "1.0", "id": 8, "method": "daemon.ping"}\n', 1),  # -32600
    "empty-batch": (b"[]\n", 1),                                    # -32600
    "number-batch": (b"[1, 2]\n", 1),                               # one array of two -32600
    "params-array": (b'{"jsonrpc": "2.0", "id": 9, "method": "daemon.ping", "params": [1]}\n', 1),  # -32602
    "no-method": (b'{"jsonrpc": "2.0", "id": 10, "method": "no.such.method"}\n', 1),  # -32601
}

# What ends a connection for good (a framing error), for lock clients that
# are meant to break their session.
MALFORMED_FRAME = b"Content-Length: twelve\r\n\r\n{}"


class Closed(Exception):
    """The daemon closed the connection (EOF or reset)."""


class Conn:
    """One connection to the daemon. Reads either framing; keeps what it has
    read but not parsed in `buf`."""

    def __init__(self, path, timeout=30.0):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        try:
            self.sock.connect(path)
        except BaseException:
            self.sock.close()
            raise
        self.buf = b""
        self.eof = False

    @staticmethod
    def connect(path, deadline, timeout=30.0, stop=None):
        """Connects, retrying while the daemon is down (restarts), until
        `deadline` (monotonic). None when it never came up or `stop` is set."""
        while time.monotonic() < deadline and not (stop is not None and stop.is_set()):
            try:
                return Conn(path, timeout)
            except (FileNotFoundError, ConnectionRefusedError, ConnectionResetError):
                time.sleep(0.02)
            except OSError as e:
                if e.errno not in (errno.EAGAIN, errno.ECONNREFUSED, errno.ENOENT):
                    raise
                time.sleep(0.02)
        return None

    def send(self, data):
        self.sock.sendall(data)

    def shutdown_wr(self):
        self.sock.shutdown(socket.SHUT_WR)

    def close(self):
        self.sock.close()

    def settimeout(self, t):
        self.sock.settimeout(t)

    def _fill(self):
        try:
            chunk = self.sock.recv(1 << 20)
        except (ConnectionResetError, BrokenPipeError) as e:
            self.eof = True
            raise Closed(str(e))
        if not chunk:
            self.eof = True
            raise Closed("EOF")
        self.buf += chunk

    def read_message(self):
        """The next message the daemon sent (a dict, or a list for a batch).
        Raises Closed at EOF, socket.timeout when nothing comes in time."""
        while True:
            stripped = self.buf.lstrip()
            if stripped:
                self.buf = stripped
                break
            self.buf = b""
            self._fill()
        if self.buf[:1] in (b"{", b"["):
            while b"\n" not in self.buf:
                self._fill()
            line, self.buf = self.buf.split(b"\n", 1)
            return json.loads(line)
        while b"\r\n\r\n" not in self.buf:
            self._fill()
        head = self.buf.split(b"\r\n\r\n", 1)[0]
        length = None
        for h in head.split(b"\r\n"):
            name, _, value = h.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        if length is None:
            raise ValueError("an LSP message without Content-Length: %r" % head[:200])
        start = len(head) + 4
        # buf keeps the whole message until it is complete: a timeout on the
        # way loses nothing, and the next call starts over.
        while len(self.buf) < start + length:
            self._fill()
        body, self.buf = self.buf[start:start + length], self.buf[start + length:]
        return json.loads(body)

    def read_until_eof(self, deadline):
        """Every message until the daemon closes; (messages, reason) where
        reason is "eof" or "timeout"."""
        out = []
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return out, "timeout"
            self.sock.settimeout(left)
            try:
                out.append(self.read_message())
            except Closed:
                return out, "eof"
            except socket.timeout:
                return out, "timeout"

    def call(self, id_, method, params=None, framing="bare"):
        """One request and its response (skipping anything else that comes,
        such as daemon notifications)."""
        self.send(encode(request(id_, method, params), framing))
        while True:
            m = self.read_message()
            if isinstance(m, dict) and m.get("id") == id_:
                return m


def responses(messages):
    """Flattens batch answers: every response object in `messages`."""
    out = []
    for m in messages:
        if isinstance(m, list):
            out.extend(x for x in m if isinstance(x, dict))
        elif isinstance(m, dict):
            out.append(m)
    return out
