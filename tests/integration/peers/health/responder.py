#!/usr/bin/env python3
"""responder.py -- a scripted DNS upstream for the upstream-health tests.

Listens on UDP and TCP at --listen/--port and answers every query according
to --mode.  Unlike peers/forward/responder.py, delayed replies are scheduled
concurrently (asyncio), so that many queries can be outstanding at once, and
the log carries a timestamp so that a test can count queries per second.

Every query received is logged to --log as one line:
    <ms since the epoch> <udp|tcp> <client port> <qname> <qtype> <id>
--stats FILE is rewritten whenever a counter changes:
    total N          queries received
    max_pending N    most queries received and not yet answered at one time
Loopback only; never run it on a real network.

Modes:
  answer     A answer with --addr (other qtypes: NOERROR, no data), after
             --delay milliseconds (0: at once)
  silent     read queries and never answer
  servfail   answer SERVFAIL
"""
import argparse
import asyncio
import os
import socket
import struct
import sys
import time

p = argparse.ArgumentParser()
p.add_argument("--listen", default="127.0.0.1")
p.add_argument("--port", type=int, required=True)
p.add_argument("--mode", default="answer", choices=["answer", "silent", "servfail"])
p.add_argument("--addr", default="192.0.2.1")
p.add_argument("--delay", type=int, default=0)
p.add_argument("--log", default=None)
p.add_argument("--stats", default=None)
p.add_argument("--pidfile", default=None)
args = p.parse_args()

state = {"total": 0, "pending": 0, "max_pending": 0}
logf = open(args.log, "a", buffering=1) if args.log else None


def write_stats():
    if not args.stats:
        return
    tmp = args.stats + ".tmp"
    with open(tmp, "w") as f:
        f.write("total %d\nmax_pending %d\n" % (state["total"], state["max_pending"]))
    os.replace(tmp, args.stats)


def log(proto, peer, qname, qtype, qid):
    if logf:
        logf.write("%d %s %d %s %d %d\n" % (int(time.time() * 1000), proto, peer[1], qname, qtype, qid))


def parse_query(data):
    """(id, flags, question bytes, qname text, qtype) or None."""
    if len(data) < 12:
        return None
    qid, flags, qd = struct.unpack("!HHH", data[:6])
    if qd != 1 or flags & 0x8000:
        return None
    off, labels = 12, []
    while True:
        if off >= len(data):
            return None
        n = data[off]
        if n == 0:
            off += 1
            break
        if n & 0xC0:
            return None
        labels.append(data[off + 1:off + 1 + n].decode("ascii", "replace"))
        off += 1 + n
    if off + 4 > len(data):
        return None
    qtype = struct.unpack("!H", data[off:off + 2])[0]
    return qid, flags, data[12:off + 4], ".".join(labels) + ".", qtype


def build(q):
    qid, qflags, question, qname, qtype = q
    rcode = 2 if args.mode == "servfail" else 0
    flags = 0x8000 | (qflags & 0x0110) | 0x0080 | rcode  # QR, RD+CD copied, RA
    answers, count = b"", 0
    if rcode == 0 and qtype == 1:
        answers = struct.pack("!HHHIH", 0xC00C, 1, 1, 300, 4) + socket.inet_aton(args.addr)
        count = 1
    return struct.pack("!HHHHHH", qid, flags, 1, count, 0, 0) + question + answers


def received(proto, peer, q):
    state["total"] += 1
    log(proto, peer, q[3], q[4], q[0])
    if args.mode == "silent":
        write_stats()
        return False
    state["pending"] += 1
    state["max_pending"] = max(state["max_pending"], state["pending"])
    write_stats()
    return True


def answered():
    state["pending"] -= 1


class Udp(asyncio.DatagramProtocol):
    def connection_made(self, transport):
        self.transport = transport

    def datagram_received(self, data, peer):
        q = parse_query(data)
        if not q or not received("udp", peer, q):
            return
        reply = build(q)

        def send():
            answered()
            self.transport.sendto(reply, peer)

        if args.delay:
            asyncio.get_running_loop().call_later(args.delay / 1000.0, send)
        else:
            send()


async def tcp_conn(reader, writer):
    peer = writer.get_extra_info("peername")
    try:
        while True:
            hdr = await reader.readexactly(2)
            data = await reader.readexactly(struct.unpack("!H", hdr)[0])
            q = parse_query(data)
            if not q:
                break
            if not received("tcp", peer, q):
                await asyncio.sleep(30)
                break
            if args.delay:
                await asyncio.sleep(args.delay / 1000.0)
            answered()
            r = build(q)
            writer.write(struct.pack("!H", len(r)) + r)
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    finally:
        writer.close()


async def main():
    loop = asyncio.get_running_loop()
    fam = socket.AF_INET6 if ":" in args.listen else socket.AF_INET
    await loop.create_datagram_endpoint(Udp, local_addr=(args.listen, args.port), family=fam)
    server = await asyncio.start_server(tcp_conn, args.listen, args.port, family=fam, reuse_address=True)
    write_stats()
    if args.pidfile:
        with open(args.pidfile, "w") as f:
            f.write("%d\n" % os.getpid())
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        sys.exit(0)
