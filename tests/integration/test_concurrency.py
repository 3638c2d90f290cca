"""Many writers at once: nothing is lost (the old design lost 335 of 400)."""
import os
import threading

from conftest import record_params

import pytest

CLIENTS = 64
RECORDS = 25


class Threads:
    """Threads whose exceptions reach the test: join() re-raises the first
    one (an assert in a thread otherwise only prints a warning), and fails
    when a thread is still running after `timeout` s."""

    def __init__(self):
        self.threads = []
        self.errors = []

    def start(self, target, *args):
        def run():
            try:
                target(*args)
            except BaseException as e:  # noqa: B902 - everything goes to the main thread
                self.errors.append(e)

        t = threading.Thread(target=run)
        self.threads.append(t)
        t.start()

    def join(self, timeout=120):
        for t in self.threads:
            t.join(timeout)
        alive = sum(t.is_alive() for t in self.threads)
        if self.errors:
            raise self.errors[0]
        assert alive == 0, "%d threads still running after %s s" % (alive, timeout)


def test_a_thread_that_dies_fails_the_test():
    """The harness itself: a dead thread is not a passing one."""
    threads = Threads()
    threads.start(lambda: None)

    def dies():
        assert 1 == 2, "died"

    threads.start(dies)
    with pytest.raises(AssertionError, match="died"):
        threads.join(10)


def test_64_concurrent_clients_lose_nothing(daemon):
    def client(n):
        c = daemon.client()
        for k in range(RECORDS):
            entry = c.call("state.record", record_params("c%d-%d" % (n, k), {"/f/%d/%d" % (n, k): "a" * 64},
                                                         synced=k))
            assert entry["target"] == "c%d-%d" % (n, k)
        c.close()

    threads = Threads()
    for n in range(CLIENTS):
        threads.start(client, n)
    threads.join(120)
    state = daemon.state()
    assert len(state["targets"]) == CLIENTS * RECORDS
    for n in range(CLIENTS):
        for k in range(RECORDS):
            assert state["targets"]["c%d-%d" % (n, k)]["items_synced"] == k
    assert daemon.client().call("state.all") == state
    # Group commit: concurrent changes shared writes.
    writes = daemon.client().call("daemon.info")["writes"]
    assert writes["changes"] == CLIENTS * RECORDS
    assert writes["count"] * 4 < writes["changes"], writes


def test_reads_never_show_a_change_before_it_is_durable(daemon):
    """A reader that sees a target must find it in state.json too."""
    stop = threading.Event()
    violations = []

    writes = [0] * 4
    reads = [0]

    def writer(w):
        c = daemon.client()
        i = 0
        while not stop.is_set():
            c.call("state.record", record_params("r%d-%d" % (w, i)))
            i += 1
            writes[w] = i

    def reader():
        c = daemon.client()
        while not stop.is_set():
            seen = set(c.call("state.all")["targets"])
            on_disk = set(daemon.state()["targets"])
            if not seen <= on_disk:
                violations.append(seen - on_disk)
            reads[0] += 1

    threads = Threads()
    for w in range(4):
        threads.start(writer, w)
    threads.start(reader)
    import time
    time.sleep(1.5)
    stop.set()
    threads.join(30)
    assert violations == []
    # Every thread did its work: none died early (join re-raises why).
    assert all(writes) and reads[0] > 0, (writes, reads)


def test_an_error_never_overtakes_the_pending_write_it_saw(daemon, tmp):
    """An error computed while a batch is pending (accept on a target that is
    not tracked) is answered only after that batch's write: answers never
    describe a state ahead of the disk, and arrive in order."""
    c = daemon.client()
    missing = os.path.join(tmp, "missing")
    for i in range(20):
        c.send_raw((
            '{"jsonrpc":"2.0","id":"rec","method":"state.record","params":{"target":"t%d","scope":"all",'
            '"file_hashes":{},"synced":1,"skipped":0,"failed":0}}\n'
            '{"jsonrpc":"2.0","id":"acc","method":"state.accept","params":{"target":"untracked","paths":["%s"]}}\n'
            % (i, missing)).encode())
        first, second = c.read_line(), c.read_line()
        assert first["id"] == "rec" and "result" in first, first
        assert second["id"] == "acc" and second["error"]["data"]["field"] == "target", second
