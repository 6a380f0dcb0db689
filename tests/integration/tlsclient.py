#!/usr/bin/env python3
"""tlsclient.py -- DNS over TLS by hand, for t_dot.sh (standard library only).

Every connection verifies the server's certificate against CA (the test's
own CA) for the address it connects to (an IP subjectAltName), offers ALPN
"dot", and prints one line that the test greps:

  pipeline ADDR PORT CA COUNT NAME...
        one connection, COUNT queries (cycling over the names, IDs 1..COUNT)
        in a single write, then one answer per query; print
        "sent=N answered=M ids=ok|bad questions=ok|bad first=ID last=ID
        alpn=PROTO" (first/last: the IDs of the first and last answer read,
        which shows the order answers came in).
  halfclose ADDR PORT CA COUNT NAME...
        one connection, COUNT queries (cycling over the names) and the TLS
        close_notify together in a single write, then read until every
        query is answered or the server closes; print "sent=N answered=M".
        A client may half-close after its last query (TLS 1.3 allows it)
        and must still get every answer.
  hold ADDR PORT CA WAIT
        handshake, send nothing, wait up to WAIT seconds; print "closed"
        when the server closed the connection, or "open".
  garbage ADDR PORT CA WAIT
        handshake, then send a length prefix of 5 and five bytes inside
        TLS (no DNS message is that short); print "closed" or "open".
  rawgarbage ADDR PORT WAIT
        plain TCP: send bytes that are not a TLS record; print "closed" or "open".
  cap ADDR PORT CA COUNT NAME
        open COUNT connections one after another, holding them, then send a
        query on each; print one token per connection: "A" answered, "C"
        closed (or the handshake failed), "-" neither within 10 s.
  conns ADDR PORT CA COUNT
        open COUNT connections one after another, holding them; print one
        token per connection: "O" the handshake succeeded, "C" it did not
        (closed at accept).
  verify ADDR PORT CA
        handshake only; print "verified" or "failed REASON".
  resume ADDR PORT CA
        two connections, the second offering the first one's session
        (ticket); each sends one query for www.lab.test; print
        "resumed=0|1".
"""

import os
import select
import socket
import ssl
import struct
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from sendraw import build_query, family, read_name, recv_msg  # noqa: E402


def context(ca):
    ctx = ssl.create_default_context(cafile=ca)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    # ALPN=h2 in the environment: speak to a DoH listener (hold, garbage, conns)
    ctx.set_alpn_protocols([os.environ.get("ALPN", "dot")])
    return ctx


def connect(addr, port, ca, session=None, ctx=None):
    # SRC=ADDR in the environment: connect from that source address
    src = os.environ.get("SRC")
    raw = socket.create_connection((addr, int(port)), timeout=10, source_address=(src, 0) if src else None)
    return (ctx or context(ca)).wrap_socket(raw, server_hostname=addr, session=session)


def frame(msg):
    return struct.pack("!H", len(msg)) + msg


def wait_closed(sock, wait):
    deadline = time.monotonic() + float(wait)
    while time.monotonic() < deadline:
        r, _, _ = select.select([sock], [], [], max(0.0, deadline - time.monotonic()))
        if not r:
            continue
        try:
            data = sock.recv(4096)
        except ssl.SSLWantReadError:
            continue
        except (ssl.SSLError, OSError):
            return "closed"
        if not data:
            return "closed"
    return "open"


def cmd_pipeline(a):
    addr, port, ca, count, names = a[0], a[1], a[2], int(a[3]), a[4:]
    s = connect(addr, port, ca)
    out, want = b"", {}
    for i in range(count):
        name = names[i % len(names)]
        q = build_query(name, "A", qid=i + 1)
        want[i + 1] = name.lower().rstrip(".")
        out += frame(q)
    s.sendall(out)
    deadline = time.time() + 30
    got, ids_ok, qs_ok, order = 0, True, True, []
    while got < count:
        m = recv_msg(s, deadline)
        if m is None:
            break
        qid = struct.unpack("!H", m[:2])[0]
        order.append(qid)
        if qid not in want:
            ids_ok = False
            continue
        name, _ = read_name(m, 12)
        if name.lower() != want.pop(qid):
            qs_ok = False
        got += 1
    print("sent=%d answered=%d ids=%s questions=%s first=%s last=%s alpn=%s" % (
        count, got, "ok" if ids_ok and not want else "bad", "ok" if qs_ok else "bad",
        order[0] if order else "-", order[-1] if order else "-", s.selected_alpn_protocol()))


def cmd_halfclose(a):
    addr, port, ca, count, names = a[0], a[1], a[2], int(a[3]), a[4:]
    # memory BIOs: the queries and the close_notify leave in one send
    inc, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    tls = context(ca).wrap_bio(inc, outgoing, server_hostname=addr)
    raw = socket.create_connection((addr, int(port)), timeout=10)

    def flush():
        data = outgoing.read()
        if data:
            raw.sendall(data)

    def feed():
        data = raw.recv(65536)
        if data:
            inc.write(data)
        return bool(data)

    while True:
        try:
            tls.do_handshake()
            break
        except ssl.SSLWantReadError:
            flush()
            if not feed():
                print("sent=0 answered=0")
                return
    flush()
    for i in range(count):
        tls.write(frame(build_query(names[i % len(names)], "A", qid=i + 1)))
    try:
        tls.unwrap()  # sends close_notify; the server's comes later, or not
    except ssl.SSLWantReadError:
        pass
    flush()
    buf, got, ids = b"", 0, set()
    deadline = time.time() + 30
    while got < count and time.time() < deadline:
        raw.settimeout(max(0.1, deadline - time.time()))
        try:
            if not feed():
                break
        except OSError:
            break
        while True:
            try:
                buf += tls.read(65536)
            except (ssl.SSLWantReadError, ssl.SSLZeroReturnError):
                break
        while len(buf) >= 2 and len(buf) >= 2 + struct.unpack("!H", buf[:2])[0]:
            n = struct.unpack("!H", buf[:2])[0]
            ids.add(struct.unpack("!H", buf[2:4])[0])
            buf = buf[2 + n:]
            got = len(ids)
    print("sent=%d answered=%d" % (count, got))


def cmd_hold(a):
    s = connect(a[0], a[1], a[2])
    print(wait_closed(s, a[3]))


def cmd_garbage(a):
    s = connect(a[0], a[1], a[2])
    s.sendall(b"\x00\x05hello")
    print(wait_closed(s, a[3]))


def cmd_rawgarbage(a):
    s = socket.create_connection((a[0], int(a[1])), timeout=10)
    s.sendall(b"GET / HTTP/1.0\r\n\r\n" + bytes(range(256)))
    print(wait_closed(s, a[2]))


def cmd_cap(a):
    addr, port, ca, count, name = a[0], a[1], a[2], int(a[3]), a[4]
    socks = []
    for _ in range(count):
        try:
            socks.append(connect(addr, port, ca))
        except (ssl.SSLError, OSError):
            socks.append(None)
    tokens = []
    for i, s in enumerate(socks):
        if s is None:
            tokens.append("C")
            continue
        try:
            s.sendall(frame(build_query(name, "A", qid=i + 1)))
            m = recv_msg(s, time.time() + 10)
            tokens.append("A" if m else "C")
        except (ssl.SSLError, OSError):
            tokens.append("C")
    print("".join(tokens))


def cmd_conns(a):
    socks, tokens = [], ""
    for _ in range(int(a[3])):
        try:
            socks.append(connect(a[0], a[1], a[2]))
            tokens += "O"
        except (ssl.SSLError, OSError):
            tokens += "C"
    print(tokens)


def cmd_verify(a):
    try:
        s = connect(a[0], a[1], a[2])
        s.close()
        print("verified")
    except ssl.SSLCertVerificationError as e:
        print("failed %s" % e.verify_message)
    except (ssl.SSLError, OSError) as e:
        print("failed %s" % e)


def one_query(s):
    s.sendall(frame(build_query("www.lab.test", "A", qid=7)))
    return recv_msg(s, time.time() + 10)


def cmd_resume(a):
    ctx = context(a[2])
    s = connect(a[0], a[1], a[2], ctx=ctx)
    one_query(s)  # TLS 1.3 tickets arrive after the handshake: read once
    sess = s.session
    s.close()
    s2 = connect(a[0], a[1], a[2], session=sess, ctx=ctx)
    one_query(s2)
    print("resumed=%d" % (1 if s2.session_reused else 0))
    s2.close()


CMDS = {"pipeline": cmd_pipeline, "halfclose": cmd_halfclose, "hold": cmd_hold, "garbage": cmd_garbage, "rawgarbage": cmd_rawgarbage,
        "cap": cmd_cap, "conns": cmd_conns, "verify": cmd_verify, "resume": cmd_resume}

if __name__ == "__main__":
    if len(sys.argv) < 2 or sys.argv[1] not in CMDS:
        sys.stderr.write(__doc__)
        sys.exit(2)
    CMDS[sys.argv[1]](sys.argv[2:])
