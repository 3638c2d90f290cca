"""Every JSON-RPC 2.0 rule of PROTOCOL.md, over the real socket, including
the JSON-RPC specification's own examples rewritten for our methods."""
import json

import pytest


def test_ping_and_id_echoed_with_its_type(daemon):
    c = daemon.client()
    for id in [1, "abc", None, 0, -7, 2**53 - 1, "", 1.5]:
        resp = c.request("daemon.ping", id=id)
        assert resp == {"jsonrpc": "2.0", "id": id, "result": "pong"}
        assert type(resp["id"]) is type(id)


def test_notification_gets_no_response_not_even_an_error(daemon):
    c = daemon.client()
    c.send({"jsonrpc": "2.0", "method": "daemon.ping"})
    c.send({"jsonrpc": "2.0", "method": "no.such.method"})
    c.send({"jsonrpc": "2.0", "method": "state.record", "params": {"bad": 1}})
    c.send({"jsonrpc": "2.0", "method": "daemon.ping", "params": [1, 2]})
    # The next answer on the connection is for the request that follows.
    assert c.request("daemon.ping", id="after") == {"jsonrpc": "2.0", "id": "after", "result": "pong"}


def test_notification_still_applies_a_change(daemon):
    c = daemon.client()
    c.send({"jsonrpc": "2.0", "method": "state.record",
            "params": {"target": "codex", "scope": "all", "file_hashes": {}, "synced": 1, "skipped": 0, "failed": 0}})
    assert c.call("state.target", {"target": "codex"})["status"] == "success"


@pytest.mark.parametrize("raw", [
    b'{"jsonrpc": "2.0", "method": "foobar, "params": "bar", "baz]\n',  # the spec's invalid JSON
    b'{"jsonrpc": "2.0", "id": 1 x\n',
    b'{\xff}\n',
    b'{"a": "raw newline in a string\n',
])
def test_invalid_json_is_a_parse_error_with_null_id(daemon, raw):
    c = daemon.client()
    c.send_raw(raw)
    resp = c.read_line()
    assert resp["id"] is None
    assert resp["error"]["code"] == -32700
    assert "result" not in resp
    assert c.call("daemon.ping") == "pong"  # the connection goes on


@pytest.mark.parametrize("msg,id", [
    ({"jsonrpc": "2.0", "method": 1, "params": "bar"}, None),  # the spec's invalid request
    ({"jsonrpc": "1.0", "method": "daemon.ping", "id": 3}, 3),
    ({"method": "daemon.ping", "id": 4}, 4),
    ({"jsonrpc": 2.0, "method": "daemon.ping", "id": 5}, 5),
    ({"jsonrpc": "2.0", "id": 6}, 6),
    ({"jsonrpc": "2.0", "method": "daemon.ping", "id": {"a": 1}}, None),
    ({"jsonrpc": "2.0", "method": "daemon.ping", "id": [1]}, None),
    ({"jsonrpc": "2.0", "method": "daemon.ping", "id": True}, None),
    ({"jsonrpc": "2.0", "method": "daemon.ping", "params": "x", "id": 7}, 7),
    ({"jsonrpc": "2.0", "method": "daemon.ping", "params": 5, "id": 8}, 8),
    ({"foo": "boo"}, None),
])
def test_invalid_request(daemon, msg, id):
    c = daemon.client()
    c.send(msg)
    resp = c.read_line()
    assert resp["id"] == id
    assert resp["error"]["code"] == -32600
    assert "result" not in resp


def test_scalars_that_are_not_requests(daemon):
    c = daemon.client()
    for raw in [b"1\n", b'"x"\n', b"null\n"]:
        # These do not start with { or [, so they are not NDJSON: send them
        # LSP-framed to reach the JSON-RPC layer.
        c.send_raw(b"Content-Length: %d\r\n\r\n" % (len(raw) - 1) + raw[:-1])
        resp = c.read_lsp()
        assert resp["error"]["code"] == -32600 and resp["id"] is None


def test_method_not_found_names_the_method(daemon):
    c = daemon.client()
    resp = c.request("foobar", id="1")
    assert resp == {"jsonrpc": "2.0", "id": "1",
                    "error": {"code": -32601, "message": resp["error"]["message"], "data": {"method": "foobar"}}}


def test_params_array_is_invalid_params(daemon):
    c = daemon.client()
    resp = c.request("state.target", ["codex"])
    assert resp["error"]["code"] == -32602
    assert resp["error"]["data"]["field"] == "params"


def test_batch_mixed_as_in_the_spec(daemon):
    c = daemon.client()
    c.send([
        {"jsonrpc": "2.0", "method": "daemon.ping", "id": "1"},
        {"jsonrpc": "2.0", "method": "daemon.ping"},  # notification
        {"jsonrpc": "2.0", "method": "state.target", "params": {"target": "codex"}, "id": "2"},
        {"foo": "boo"},
        {"jsonrpc": "2.0", "method": "foo.get", "params": {"name": "myself"}, "id": "5"},
        {"jsonrpc": "2.0", "method": "daemon.info", "id": "9"},
    ])
    resp = c.read_line()
    assert isinstance(resp, list)
    by_id = {}
    for r in resp:
        assert ("result" in r) != ("error" in r)
        by_id.setdefault(json.dumps(r["id"]), []).append(r)
    assert by_id['"1"'][0]["result"] == "pong"
    assert by_id['"2"'][0]["result"] is None
    assert by_id["null"][0]["error"]["code"] == -32600
    assert by_id['"5"'][0]["error"]["code"] == -32601
    assert by_id['"9"'][0]["result"]["name"] == "harnesssyncd"
    assert len(resp) == 5


def test_batch_edge_cases(daemon):
    c = daemon.client()
    c.send_raw(b"[]\n")
    resp = c.read_line()
    assert isinstance(resp, dict) and resp["error"]["code"] == -32600 and resp["id"] is None
    c.send_raw(b"[1]\n")
    resp = c.read_line()
    assert isinstance(resp, list) and len(resp) == 1 and resp[0]["error"]["code"] == -32600
    c.send_raw(b"[1, 2, 3]\n")
    resp = c.read_line()
    assert len(resp) == 3 and all(r["error"]["code"] == -32600 and r["id"] is None for r in resp)
    # Only notifications: nothing comes back at all.
    c.send([{"jsonrpc": "2.0", "method": "daemon.ping"}, {"jsonrpc": "2.0", "method": "daemon.ping"}])
    assert c.request("daemon.ping", id="next")["id"] == "next"


def test_batch_with_writes_answers_after_they_are_durable(daemon):
    c = daemon.client()
    batch = [{"jsonrpc": "2.0", "id": i, "method": "state.record",
              "params": {"target": "t%d" % i, "scope": "all", "file_hashes": {}, "synced": i, "skipped": 0,
                         "failed": 0}} for i in range(20)]
    batch.append({"jsonrpc": "2.0", "id": "all", "method": "state.all"})
    c.send(batch)
    resp = {json.dumps(r["id"]): r for r in c.read_line()}
    assert len(resp) == 21
    assert len(resp['"all"']["result"]["targets"]) == 20  # the read saw every earlier change
    assert len(daemon.state()["targets"]) == 20


def test_lsp_framing_and_header_rules(daemon):
    c = daemon.client()
    c.send_lsp({"jsonrpc": "2.0", "id": 1, "method": "daemon.ping"})
    assert c.read_lsp()["result"] == "pong"
    # Name case-insensitive, other headers ignored.
    body = b'{"jsonrpc":"2.0","id":2,"method":"daemon.ping"}'
    c.send_raw(b"content-type: application/vscode-jsonrpc; charset=utf-8\r\nCONTENT-LENGTH: %d\r\n\r\n" % len(body) + body)
    assert c.read_lsp()["id"] == 2
    # A body with a newline inside is fine in this framing.
    body = b'{"jsonrpc":"2.0",\n"id":3,\n"method":"daemon.ping"}'
    c.send_raw(b"Content-Length: %d\r\n\r\n" % len(body) + body)
    assert c.read_lsp()["id"] == 3


def test_framing_switches_between_messages_on_one_connection(daemon):
    c = daemon.client()
    c.send({"jsonrpc": "2.0", "id": 1, "method": "daemon.ping"})
    assert c.read_line()["id"] == 1
    c.send_lsp({"jsonrpc": "2.0", "id": 2, "method": "daemon.ping"})
    assert c.read_lsp()["id"] == 2
    # Leading whitespace between messages is skipped.
    c.send_raw(b"\r\n  \n" + json.dumps({"jsonrpc": "2.0", "id": 3, "method": "daemon.ping"}).encode() + b"\n")
    assert c.read_line()["id"] == 3
    c.send_raw(b"\n\n")
    c.send_lsp({"jsonrpc": "2.0", "id": 4, "method": "daemon.ping"})
    assert c.read_lsp()["id"] == 4


def test_bytes_split_anywhere_still_parse(daemon):
    c = daemon.client()
    msgs = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "daemon.ping"}).encode() + b"\n"
    body = b'{"jsonrpc":"2.0","id":2,"method":"daemon.ping"}'
    msgs += b"Content-Length: %d\r\n\r\n" % len(body) + body
    for b in msgs:
        c.send_raw(bytes([b]))
    assert c.read_line()["id"] == 1
    assert c.read_lsp()["id"] == 2


def test_pipelined_requests_in_one_write(daemon):
    c = daemon.client()
    c.send_raw(b"".join(json.dumps({"jsonrpc": "2.0", "id": i, "method": "daemon.ping"}).encode() + b"\n"
                        for i in range(100)))
    ids = sorted(c.read_line()["id"] for _ in range(100))
    assert ids == list(range(100))


def test_bad_lsp_header_is_an_error_then_close(daemon):
    c = daemon.client()
    c.send_raw(b"X-Nothing: here\r\n\r\n{}")
    resp = c.read_lsp()
    assert resp["error"]["code"] == -32700 and resp["id"] is None
    assert c.is_closed()
    assert daemon.client().call("daemon.ping") == "pong"
