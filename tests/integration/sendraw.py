#!/usr/bin/env python3
"""sendraw.py -- raw DNS packets for the integration tests (standard library only).

Every sub-command prints one line that the shell tests grep:

  udp ADDR PORT HEX [--timeout S]
        send HEX (spaces allowed) as one UDP datagram; print the reply
        summary ("id=.. rcode=.. flags=.. qd=.. an=.. ns=.. ar=.. opt=.. len=..")
        or "noreply" when nothing came back within the timeout.
  build NAME TYPE [--id N] [--flags HEX] [--edns] [--bufsize N]
        print the hex of a well-formed query (a base the tests mutate).
  garbage ADDR PORT COUNT SEED
        send COUNT random datagrams (half pure noise, half mutated valid
        queries) and COUNT/20 random TCP streams; print "sent=N replies=M".
  tcp-pipeline ADDR PORT NAME...
        one connection, every query in a single write; read one answer per
        query; print "sent=N answered=M ids=ok|bad questions=ok|bad rcodes=..".
  tcp-sequential ADDR PORT COUNT NAME
        one connection, COUNT query/answer round trips in turn; print "answered=M".
  tcp-hold ADDR PORT HEX WAIT
        connect, send HEX (may be empty or a partial message), then wait up
        to WAIT seconds; print "closed ms=N" when the server closed the
        connection, "reply ..." when an answer came, or "open" at the end.
  tcp-cap ADDR PORT COUNT NAME
        open COUNT connections one after another (holding them all), then
        send a query on each and wait; print one token per connection:
        "A" answered, "C" closed, "-" neither within 10 s (a bound on
        waiting: an answer or a close comes long before).
"""

import os
import random
import select
import socket
import struct
import sys
import time

RCODES = {0: "NOERROR", 1: "FORMERR", 2: "SERVFAIL", 3: "NXDOMAIN", 4: "NOTIMP",
          5: "REFUSED", 9: "NOTAUTH", 16: "BADVERS"}
TYPES = {"A": 1, "NS": 2, "CNAME": 5, "SOA": 6, "PTR": 12, "MX": 15, "TXT": 16,
         "AAAA": 28, "SRV": 33, "OPT": 41, "ANY": 255}


def family(addr):
    return socket.AF_INET6 if ":" in addr else socket.AF_INET


def unhex(s):
    return bytes.fromhex("".join(s.split()))


def encode_name(name):
    out = b""
    for label in name.rstrip(".").split("."):
        if label:
            out += bytes([len(label)]) + label.encode()
    return out + b"\x00"


def build_query(name, qtype="A", qid=None, flags=0, edns=False, bufsize=1232):
    if qid is None:
        qid = random.randrange(65536)
    t = TYPES.get(qtype.upper(), None)
    if t is None:
        t = int(qtype.upper().lstrip("TYPE"))
    msg = struct.pack(">HHHHHH", qid, flags, 1, 0, 0, 1 if edns else 0)
    msg += encode_name(name) + struct.pack(">HH", t, 1)
    if edns:
        msg += b"\x00" + struct.pack(">HHIH", 41, bufsize, 0, 0)
    return msg


def skip_name(msg, off):
    """Offset after the (possibly compressed) name at off; raises on overrun."""
    while True:
        n = msg[off]
        if n & 0xC0 == 0xC0:
            return off + 2
        if n == 0:
            return off + 1
        off += 1 + n


def read_name(msg, off, depth=0):
    labels = []
    while True:
        n = msg[off]
        if n & 0xC0 == 0xC0:
            ptr = ((n & 0x3F) << 8) | msg[off + 1]
            if depth > 20:
                raise ValueError("pointer loop")
            rest, _ = read_name(msg, ptr, depth + 1)
            return ".".join(labels + ([rest] if rest else [])), off + 2
        if n == 0:
            return ".".join(labels), off + 1
        labels.append(msg[off + 1:off + 1 + n].decode("latin-1"))
        off += 1 + n


def summary(msg):
    if len(msg) < 12:
        return "short len=%d" % len(msg)
    qid, flags, qd, an, ns, ar = struct.unpack(">HHHHHH", msg[:12])
    rcode = flags & 0xF
    names = []
    for bit, nm in ((15, "qr"), (10, "aa"), (9, "tc"), (8, "rd"), (7, "ra"), (5, "ad"), (4, "cd")):
        if flags >> bit & 1:
            names.append(nm)
    opcode = flags >> 11 & 0xF
    opt = "no"
    qname = "-"
    try:
        off = 12
        for i in range(qd):
            nm, off = read_name(msg, off)
            if i == 0:
                qname = nm + "."
            off += 4
        for i in range(an + ns + ar):
            start = off
            off = skip_name(msg, off)
            rtype, _, ttl, rdlen = struct.unpack(">HHIH", msg[off:off + 10])
            if i >= an + ns and rtype == 41:
                opt = "yes"
                rcode |= (ttl >> 24) << 4
            off += 10 + rdlen
            if off > len(msg) or off <= start:
                raise ValueError("overrun")
    except (IndexError, ValueError, struct.error):
        opt = opt + "(unparsed)"
    return ("id=%d rcode=%s opcode=%d flags=%s qd=%d an=%d ns=%d ar=%d opt=%s qname=%s len=%d"
            % (qid, RCODES.get(rcode, str(rcode)), opcode, ",".join(names) or "none",
               qd, an, ns, ar, opt, qname, len(msg)))


def cmd_udp(args):
    addr, port, hx = args[0], int(args[1]), args[2]
    timeout = 1.0
    if "--timeout" in args:
        timeout = float(args[args.index("--timeout") + 1])
    s = socket.socket(family(addr), socket.SOCK_DGRAM)
    s.settimeout(timeout)
    s.sendto(unhex(hx), (addr, port))
    try:
        data, _ = s.recvfrom(65535)
    except socket.timeout:
        print("noreply")
        return 0
    except ConnectionRefusedError:
        print("refused-icmp")
        return 0
    print(summary(data))
    return 0


def cmd_build(args):
    name, qtype = args[0], args[1]
    qid = int(args[args.index("--id") + 1]) if "--id" in args else 4660
    flags = int(args[args.index("--flags") + 1], 16) if "--flags" in args else 0
    bufsize = int(args[args.index("--bufsize") + 1]) if "--bufsize" in args else 1232
    print(build_query(name, qtype, qid, flags, "--edns" in args, bufsize).hex())
    return 0


def mutate(rng, msg):
    b = bytearray(msg)
    for _ in range(rng.randint(1, 6)):
        op = rng.randrange(4)
        if op == 0 and b:
            b[rng.randrange(len(b))] = rng.randrange(256)
        elif op == 1 and b:
            del b[rng.randrange(len(b)):]
        elif op == 2:
            pos = rng.randrange(len(b) + 1)
            b[pos:pos] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 16)))
        elif len(b) > 12:
            pos = rng.randrange(12, len(b))
            b[pos] = 0xC0 | rng.randrange(64)
    return bytes(b)


def cmd_garbage(args):
    addr, port, count, seed = args[0], int(args[1]), int(args[2]), int(args[3])
    rng = random.Random(seed)
    s = socket.socket(family(addr), socket.SOCK_DGRAM)
    s.setblocking(False)
    bases = [build_query("www.lab.test", "A", edns=False),
             build_query("many.lab.test", "A", edns=True, bufsize=512),
             build_query("x.wild.lab.test", "AAAA", edns=True),
             build_query("nope.example.com", "TXT", edns=True)]
    replies = 0
    sent = 0
    for i in range(count):
        if i % 2 == 0:
            pkt = bytes(rng.randrange(256) for _ in range(rng.randint(0, 600)))
        else:
            pkt = mutate(rng, rng.choice(bases))
        if len(pkt) >= 3 and i % 4 == 1:
            # keep QR clear on some so they get past the first check
            pkt = pkt[:2] + bytes([pkt[2] & 0x7F]) + pkt[3:]
        for _attempt in range(100):
            try:
                s.sendto(pkt, (addr, port))
                sent += 1
                break
            except BlockingIOError:
                select.select([], [s], [], 0.01)  # socket buffer full: wait, retry
            except ConnectionRefusedError:
                pass  # an ICMP error from an earlier datagram; send again
        while True:
            try:
                s.recvfrom(65535)
                replies += 1
            except (BlockingIOError, ConnectionRefusedError):
                break
        if i % 50 == 49:
            time.sleep(0.005)  # stay below the socket buffers
    end = time.time() + 0.5
    while time.time() < end:
        r, _, _ = select.select([s], [], [], 0.1)
        if r:
            try:
                s.recvfrom(65535)
                replies += 1
            except (BlockingIOError, ConnectionRefusedError):
                pass
    for i in range(max(1, count // 20)):
        try:
            t = socket.create_connection((addr, port), timeout=1)
            if i % 2 == 0:
                data = bytes(rng.randrange(256) for _ in range(rng.randint(0, 300)))
            else:
                m = mutate(rng, rng.choice(bases))
                data = struct.pack(">H", len(m)) + m
            t.sendall(data)
            t.close()
        except OSError:
            pass
    print("sent=%d replies=%d" % (sent, replies))
    return 0


def recv_exact(sock, n, deadline):
    buf = b""
    while len(buf) < n:
        left = deadline - time.time()
        if left <= 0:
            return None
        sock.settimeout(left)
        try:
            chunk = sock.recv(n - len(buf))
        except socket.timeout:
            return None
        except ConnectionResetError:
            return None
        if not chunk:
            return None
        buf += chunk
    return buf


def recv_msg(sock, deadline):
    hdr = recv_exact(sock, 2, deadline)
    if hdr is None:
        return None
    return recv_exact(sock, struct.unpack(">H", hdr)[0], deadline)


def cmd_tcp_pipeline(args):
    addr, port, names = args[0], int(args[1]), args[2:]
    sock = socket.create_connection((addr, port), timeout=10)
    queries = {}
    wire = b""
    for i, name in enumerate(names):
        qid = 1000 + i * 7
        m = build_query(name, "A", qid)
        queries[qid] = name.rstrip(".").lower() + "."
        wire += struct.pack(">H", len(m)) + m
    sock.sendall(wire)
    deadline = time.time() + 10
    seen = {}
    rcodes = []
    while len(seen) < len(names):
        m = recv_msg(sock, deadline)
        if m is None:
            break
        qid = struct.unpack(">H", m[:2])[0]
        try:
            qname, _ = read_name(m, 12)
        except (IndexError, ValueError):
            qname = "?"
        seen[qid] = qname.lower() + "."
        rcodes.append(RCODES.get(m[3] & 0xF, str(m[3] & 0xF)))
    ids_ok = set(seen) == set(queries)
    q_ok = ids_ok and all(seen[k] == queries[k] for k in queries)
    print("sent=%d answered=%d ids=%s questions=%s rcodes=%s"
          % (len(names), len(seen), "ok" if ids_ok else "bad", "ok" if q_ok else "bad",
             ",".join(rcodes) or "-"))
    return 0


def cmd_tcp_sequential(args):
    addr, port, count, name = args[0], int(args[1]), int(args[2]), args[3]
    sock = socket.create_connection((addr, port), timeout=10)
    answered = 0
    for i in range(count):
        m = build_query(name, "A", 2000 + i)
        sock.sendall(struct.pack(">H", len(m)) + m)
        r = recv_msg(sock, time.time() + 10)
        if r is None or struct.unpack(">H", r[:2])[0] != 2000 + i:
            break
        answered += 1
    print("answered=%d" % answered)
    return 0


def wait_closed(sock, wait):
    """'closed ms=N', 'reply ...' or 'open' after wait seconds."""
    start = time.time()
    end = start + wait
    buf = b""
    while True:
        left = end - time.time()
        if left <= 0:
            return "open"
        r, _, _ = select.select([sock], [], [], left)
        if not r:
            return "open"
        try:
            chunk = sock.recv(65537)
        except (ConnectionResetError, OSError):
            chunk = b""
        if not chunk:
            return "closed ms=%d" % int((time.time() - start) * 1000)
        buf += chunk
        if len(buf) >= 2 and len(buf) >= 2 + struct.unpack(">H", buf[:2])[0]:
            return "reply " + summary(buf[2:2 + struct.unpack(">H", buf[:2])[0]])


def cmd_tcp_hold(args):
    addr, port, hx, wait = args[0], int(args[1]), args[2], float(args[3])
    sock = socket.create_connection((addr, port), timeout=10)
    data = unhex(hx)
    if data:
        sock.sendall(data)
    print(wait_closed(sock, wait))
    return 0


def cmd_tcp_cap(args):
    addr, port, count, name = args[0], int(args[1]), int(args[2]), args[3]
    socks = []
    for _ in range(count):
        try:
            s = socket.create_connection((addr, port), timeout=1)
        except OSError:
            s = None
        socks.append(s)
        time.sleep(0.02)  # keep accept order equal to connect order
    time.sleep(0.3)
    for i, s in enumerate(socks):
        if s is None:
            continue
        m = build_query(name, "A", 3000 + i)
        try:
            s.sendall(struct.pack(">H", len(m)) + m)
        except OSError:
            pass
    res = []
    for i, s in enumerate(socks):
        if s is None:
            res.append("C")
            continue
        r = wait_closed(s, 10.0)
        res.append("A" if r.startswith("reply") else "C" if r.startswith("closed") else "-")
    print(" ".join(res))
    for s in socks:
        if s is not None:
            s.close()
    return 0


COMMANDS = {"udp": cmd_udp, "build": cmd_build, "garbage": cmd_garbage,
            "tcp-pipeline": cmd_tcp_pipeline, "tcp-sequential": cmd_tcp_sequential,
            "tcp-hold": cmd_tcp_hold, "tcp-cap": cmd_tcp_cap}


def main():
    if len(sys.argv) < 2 or sys.argv[1] not in COMMANDS:
        sys.stderr.write(__doc__)
        return 2
    return COMMANDS[sys.argv[1]](sys.argv[2:])


if __name__ == "__main__":
    sys.exit(main())
