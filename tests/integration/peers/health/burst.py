#!/usr/bin/env python3
"""burst.py -- fire many DNS queries at once and check every reply.

Sends --count UDP queries (each from its own socket, with its own random ID)
and --tcp queries over TCP (one connection each) for the same question, all
before reading any reply (with --batch, pausing --gap-ms after every --batch
UDP sends so that the server's socket buffer does not overflow); the name is written in a different letter case for
each query when --mixcase is given (or unique per query with --unique).
Then waits up to --timeout seconds for the replies and prints, one per line:
    sent N            queries sent
    answered N        replies received
    id_ok N           replies carrying their own query's ID
    case_ok N         replies whose question is byte for byte the query's
    rcode_NAME N      replies per rcode (NOERROR, SERVFAIL, ...)
    addr_ok N         NOERROR replies with an A record equal to --addr
    max_ms N          slowest reply, milliseconds after the first send
Loopback only.
"""
import argparse
import os
import random
import select
import socket
import struct
import time

p = argparse.ArgumentParser()
p.add_argument("--server", default="127.0.0.1")
p.add_argument("--port", type=int, required=True)
p.add_argument("--name", required=True)
p.add_argument("--count", type=int, default=100)
p.add_argument("--tcp", type=int, default=0)
p.add_argument("--mixcase", action="store_true")
p.add_argument("--unique", action="store_true")
p.add_argument("--addr", default=None)
p.add_argument("--timeout", type=float, default=10.0)
p.add_argument("--batch", type=int, default=0, help="pause --gap-ms after every this many UDP sends")
p.add_argument("--gap-ms", type=int, default=20)
args = p.parse_args()

RCODES = {0: "NOERROR", 2: "SERVFAIL", 3: "NXDOMAIN", 5: "REFUSED"}
rng = random.Random(os.getpid())


def name_for(i):
    name = args.name
    if args.unique:
        name = "u%d-%d.%s" % (os.getpid(), i, name)
    if args.mixcase:
        name = "".join(c.upper() if rng.random() < 0.5 else c.lower() for c in name)
    return name


def question(name):
    out = b""
    for label in name.rstrip(".").split("."):
        out += bytes([len(label)]) + label.encode()
    return out + b"\x00" + struct.pack("!HH", 1, 1)


def query(qid, q):
    return struct.pack("!HHHHHH", qid, 0x0100, 1, 0, 0, 0) + q


def check(reply, qid, q, res):
    if len(reply) < 12:
        return
    res["answered"] += 1
    rid, flags, qd, an = struct.unpack("!HHHH", reply[:8])
    if rid == qid:
        res["id_ok"] += 1
    if reply[12:12 + len(q)] == q:
        res["case_ok"] += 1
    rc = RCODES.get(flags & 0xF, str(flags & 0xF))
    res["rcode_" + rc] = res.get("rcode_" + rc, 0) + 1
    if args.addr and rc == "NOERROR" and an >= 1:
        off = 12 + len(q)
        for _ in range(an):
            # owner: a pointer or a plain name
            while off < len(reply) and reply[off] != 0 and reply[off] & 0xC0 != 0xC0:
                off += 1 + reply[off]
            off += 2 if off < len(reply) and reply[off] & 0xC0 == 0xC0 else 1
            if off + 10 > len(reply):
                break
            rtype, _, _, rdlen = struct.unpack("!HHIH", reply[off:off + 10])
            off += 10
            if rtype == 1 and rdlen == 4 and socket.inet_ntoa(reply[off:off + 4]) == args.addr:
                res["addr_ok"] += 1
                break
            off += rdlen


def main():
    res = {"sent": 0, "answered": 0, "id_ok": 0, "case_ok": 0, "addr_ok": 0, "max_ms": 0}
    udp, tcp = [], []
    ids = rng.sample(range(1, 65536), args.count + args.tcp)
    for i in range(args.count):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.setblocking(False)
        udp.append((s, ids[i], question(name_for(i))))
    for i in range(args.tcp):
        s = socket.create_connection((args.server, args.port), timeout=2)
        s.setblocking(False)
        tcp.append([s, ids[args.count + i], question(name_for(args.count + i)), b""])
    t0 = time.monotonic()
    for s, qid, q in udp:
        s.sendto(query(qid, q), (args.server, args.port))
        res["sent"] += 1
        # a pause now and then keeps the server's receive buffer from overflowing
        if args.batch and res["sent"] % args.batch == 0:
            time.sleep(args.gap_ms / 1000.0)
    for s, qid, q, _ in tcp:
        m = query(qid, q)
        s.sendall(struct.pack("!H", len(m)) + m)
        res["sent"] += 1
    waiting = {s.fileno(): ("udp", s, qid, q) for s, qid, q in udp}
    for t in tcp:
        waiting[t[0].fileno()] = ("tcp", t[0], t[1], t[2], t)
    end = t0 + args.timeout
    while waiting and time.monotonic() < end:
        r, _, _ = select.select([v[1] for v in waiting.values()], [], [], max(0, end - time.monotonic()))
        for s in r:
            v = waiting[s.fileno()]
            if v[0] == "udp":
                data = s.recv(65535)
                reply = data
            else:
                chunk = s.recv(65535)
                t = v[4]
                t[3] += chunk
                if not chunk:
                    del waiting[s.fileno()]
                    continue
                if len(t[3]) < 2 or len(t[3]) < 2 + struct.unpack("!H", t[3][:2])[0]:
                    continue
                reply = t[3][2:]
            res["max_ms"] = max(res["max_ms"], int((time.monotonic() - t0) * 1000))
            check(reply, v[2], v[3], res)
            del waiting[s.fileno()]
    for k in sorted(res):
        print("%s %d" % (k, res[k]))


if __name__ == "__main__":
    main()
