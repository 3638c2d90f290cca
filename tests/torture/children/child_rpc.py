"""An RPC client in a process of its own, there to be SIGKILLed mid-session
(actors/rpc_child.py). argv: PLAN_JSON SOCKET JOURNAL. It sends the plan's
chunks with pauses, reads what answers come, and journals as it goes: what
it logged before the kill is what the oracle knows."""
import base64
import json
import os
import random
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import wire  # noqa: E402
from actors import session as S  # noqa: E402
from journal import Journal, now  # noqa: E402


def main():
    plan_path, sock, journal_path = sys.argv[1:4]
    with open(plan_path) as f:
        plan = json.load(f)
    j = Journal(journal_path)
    conn_id = plan["conn"]
    ids = {int(k): v for k, v in plan["ids"].items()}
    rng = random.Random(conn_id)
    c = S.open_conn(j, conn_id, sock, now() + 10.0)
    if c is None:
        return 1
    answered = {}
    chunks = [{"data": base64.b64decode(ch["data"]), "uids": ch["uids"], "partial": ch["partial"]}
              for ch in plan["chunks"]]
    for seq, ch in enumerate(chunks):
        if not S.send_chunks(j, conn_id, c, [ch], first_seq=seq):
            return 0
        time.sleep(rng.random() * 0.1)
        c.settimeout(0.005)
        try:
            while True:
                S.note_answers(j, conn_id, ids, [c.read_message()], answered)
        except socket.timeout:
            pass
        except (wire.Closed, ValueError):
            return 0
        c.settimeout(30.0)
    # Everything is out: read answers until the parent's SIGKILL.
    c.settimeout(None)
    while True:
        try:
            S.note_answers(j, conn_id, ids, [c.read_message()], answered)
        except (wire.Closed, ValueError):
            return 0


if __name__ == "__main__":
    sys.exit(main())
