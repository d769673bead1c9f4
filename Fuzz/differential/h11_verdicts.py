#!/usr/bin/env python3
"""Reads raw HTTP/1.1 request heads (a JSON list of hex strings) on stdin and prints, for each,
h11's verdict as JSON: ["ok", method, target, version, [[name, value], ...]], ["reject", reason]
or ["incomplete"]. The independent parser of HTTPDifferentialTests (h11 0.14, Debian's
python3-h11). Header names lowercased and values as h11 gives them (surrounding whitespace
stripped); bytes decoded as latin-1."""
import json, sys
import h11

def verdict(data):
    c = h11.Connection(h11.SERVER, max_incomplete_event_size=1 << 20)
    try:
        c.receive_data(data)
        e = c.next_event()
    except h11.RemoteProtocolError as ex:
        return ["reject", str(ex)]
    if isinstance(e, h11.Request):
        return ["ok", e.method.decode("latin-1"), e.target.decode("latin-1"), e.http_version.decode("latin-1"),
                [[k.decode("latin-1"), v.decode("latin-1")] for k, v in e.headers]]
    return ["incomplete"]

cases = json.load(sys.stdin)
json.dump([verdict(bytes.fromhex(h)) for h in cases], sys.stdout)
