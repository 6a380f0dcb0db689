#!/usr/bin/env python3
"""responder.py -- a scripted DNS upstream for the forwarding, cache and
upstream-health tests.

Listens on UDP and TCP at --listen/--port and answers every query according
to --mode, after --delay milliseconds (0: at once).  Replies are scheduled
concurrently (asyncio), so that many queries can be outstanding at once.

Every query received is logged to --log as one line:
    <udp|tcp> <client port> <qname> <qtype> <id>
so that a test can tell which server was asked, over which transport, and
from which source port; with --timestamps the line starts with the
milliseconds since the epoch, so that a test can count queries per second.
--stats FILE is rewritten whenever a counter changes:
    total N          queries received
    max_pending N    most queries received and not yet answered at one time
Loopback only; never run it on a real network.

Modes:
  answer     A answer with --addr (other qtypes: NOERROR, no data)
  silent     read queries and never answer (UDP and TCP)
  badfirst   over UDP first send replies that must be ignored (wrong ID,
             wrong name, wrong type, QR clear, 5 bytes, wrong class), then the
             right answer with the question name in swapped case
  servfail   answer SERVFAIL        refused   answer REFUSED
  tc         UDP: empty answer with TC; TCP: the full answer (--records A
             records so that it is larger than 512 bytes when asked)
  tcpclose   UDP: TC; TCP: close the connection without a reply
  malformed  matching replies (right ID and question) that are broken
             inside, in turn: ANCOUNT 65535 with one record, a compression
             pointer to itself, an RDLENGTH past the end
  tctcp      UDP: TC; TCP: TC again, with no answer
  deepchain  NOERROR with a 20-step CNAME chain from the question name
  cnameloop  NOERROR with a two-step CNAME loop: the question name to
             loop.<name>, and loop.<name> back to the question name
  garbage    UDP: random bytes and a 3-byte datagram, never a DNS reply
  spoof      UDP: the right answer, but sent from another port (a spoofed
             source the forwarder's connected socket must not accept)
  bigtcp     UDP: TC; TCP: a 65,535-byte answer (as many A records as fit)
  tcpreset   UDP: TC; TCP: read the query, then reset the connection
  tcpdrip    UDP: TC; TCP: the answer one byte every 0.5 s, never finished
             within any sane timeout
TCP replies are written in two parts: the reader must reassemble them.
--ede CODE:TEXT adds an OPT record with that Extended DNS Error (RFC 8914)
to every reply built from scratch (answer, servfail, refused modes).
"""
import argparse
import asyncio
import os
import socket
import struct
import sys
import time

MODES = ["answer", "silent", "badfirst", "servfail", "refused", "tc", "tcpclose", "malformed", "tctcp",
         "deepchain", "cnameloop", "garbage", "spoof", "bigtcp", "tcpreset", "tcpdrip"]
TC_FIRST = ("tc", "tcpclose", "tctcp", "bigtcp", "tcpreset", "tcpdrip")

p = argparse.ArgumentParser()
p.add_argument("--listen", default="127.0.0.1")
p.add_argument("--port", type=int, required=True)
p.add_argument("--mode", default="answer", choices=MODES)
p.add_argument("--addr", default="192.0.2.1")
p.add_argument("--records", type=int, default=1)
p.add_argument("--delay", type=int, default=0)
p.add_argument("--log", default=None)
p.add_argument("--timestamps", action="store_true")
p.add_argument("--stats", default=None)
p.add_argument("--pidfile", default=None)
p.add_argument("--ede", default=None)
args = p.parse_args()

RCODE = {"servfail": 2, "refused": 5}.get(args.mode, 0)

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
        stamp = "%d " % int(time.time() * 1000) if args.timestamps else ""
        logf.write("%s%s %d %s %d %d\n" % (stamp, proto, peer[1], qname, qtype, qid))


def parse_query(data):
    """(id, flags, question bytes, qname text, qtype, qclass) or None."""
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
    qtype, qclass = struct.unpack("!HH", data[off:off + 4])
    return qid, flags, data[12:off + 4], ".".join(labels) + ".", qtype, qclass


def build(qid, qflags, question, qtype, rcode=RCODE, tc=False):
    flags = 0x8000 | (qflags & 0x0110) | 0x0080 | rcode  # QR, RD+CD copied, RA
    if tc:
        flags |= 0x0200
    answers = b""
    count = 0
    if rcode == 0 and not tc and qtype == 1:
        base = socket.inet_aton(args.addr)
        for i in range(args.records):
            ip = base if i == 0 else base[:3] + bytes([(base[3] + i) % 256])
            answers += struct.pack("!HHHIH", 0xC00C, 1, 1, 300, 4) + ip
            count += 1
    opt = b""
    if args.ede:
        code, _, text = args.ede.partition(":")
        data = struct.pack("!H", int(code)) + text.encode()
        opt = b"\x00" + struct.pack("!HHIH", 41, 1232, 0, 4 + len(data)) + struct.pack("!HH", 15, len(data)) + data
    return struct.pack("!HHHHHH", qid, flags, 1, count, 0, 1 if opt else 0) + question + answers + opt


def malformed(qid, qflags, question, qtype, n):
    """The n-th broken reply: each passes the ID and question check."""
    good = bytearray(build(qid, qflags, question, 1))
    if n % 3 == 0:
        good[6:8] = struct.pack("!H", 65535)          # ANCOUNT 65535, one record
    elif n % 3 == 1:
        at = 12 + len(question)                       # the answer's owner name
        good[at:at + 2] = struct.pack("!H", 0xC000 | at)  # points at itself
    else:
        good[-6:-4] = struct.pack("!H", 400)          # RDLENGTH past the end
    return bytes(good)


def deepchain(qid, qflags, question, qname):
    """qname CNAME d1.qname CNAME d2.qname ... 20 steps."""
    flags = 0x8000 | (qflags & 0x0110) | 0x0080
    rrs = b""
    owner = b"\xc0\x0c"
    for i in range(1, 21):
        target = encode(("d%d." % i) + qname)
        rrs += owner + struct.pack("!HHIH", 5, 1, 60, len(target)) + target
        owner = target
    return struct.pack("!HHHHHH", qid, flags, 1, 20, 0, 0) + question + rrs


def cnameloop(qid, qflags, question, qname):
    """qname CNAME loop.qname, loop.qname CNAME qname."""
    flags = 0x8000 | (qflags & 0x0110) | 0x0080
    other = encode("loop." + qname)
    rrs = b"\xc0\x0c" + struct.pack("!HHIH", 5, 1, 60, len(other)) + other
    rrs += other + struct.pack("!HHIH", 5, 1, 60, 2) + b"\xc0\x0c"
    return struct.pack("!HHHHHH", qid, flags, 1, 2, 0, 0) + question + rrs


def bigtcp(qid, qflags, question):
    """A NOERROR answer of exactly 65,535 bytes or just under: A records."""
    flags = 0x8000 | (qflags & 0x0110) | 0x0080
    n = (65535 - 12 - len(question)) // 16
    rrs = b"".join(struct.pack("!HHHIH", 0xC00C, 1, 1, 300, 4) + struct.pack("!I", 0xC0000200 + (i % 256))
                   for i in range(n))
    return struct.pack("!HHHHHH", qid, flags, 1, n, 0, 0) + question + rrs


def encode(name):
    out = b""
    for label in name.rstrip(".").split("."):
        out += bytes([len(label)]) + label.encode()
    return out + b"\x00"


def swapcase_question(question):
    out = bytearray(question)
    off = 0
    while out[off] != 0:
        n = out[off]
        for i in range(off + 1, off + 1 + n):
            c = out[i]
            if 0x41 <= c <= 0x5A or 0x61 <= c <= 0x7A:
                out[i] = c ^ 0x20
        off += 1 + n
    return bytes(out)


def udp_replies(q):
    qid, qflags, question, qname, qtype, qclass = q
    m = args.mode
    if m in TC_FIRST:
        return [build(qid, qflags, question, qtype, tc=True)]
    if m == "cnameloop":
        return [cnameloop(qid, qflags, question, qname)]
    if m == "garbage":
        return [os.urandom(40), os.urandom(3)]
    if m == "malformed":
        return [malformed(qid, qflags, question, qtype, state["total"] - 1)]
    if m == "deepchain":
        return [deepchain(qid, qflags, question, qname)]
    if m == "badfirst":
        good = build(qid, qflags, question, qtype)
        wrong_id = build((qid + 1) & 0xFFFF, qflags, question, qtype)
        other_name = b"\x05other\x07example\x00" + question[-4:]
        wrong_name = build(qid, qflags, other_name, qtype)
        wrong_type = build(qid, qflags, question[:-4] + struct.pack("!HH", 16, 1), 16)
        wrong_class = build(qid, qflags, question[:-4] + struct.pack("!HH", qtype, 3), qtype)
        no_qr = bytearray(good)
        no_qr[2] &= 0x7F
        short = good[:5]
        right = build(qid, qflags, swapcase_question(question), qtype)
        return [wrong_id, wrong_name, wrong_type, wrong_class, bytes(no_qr), short, right]
    return [build(qid, qflags, question, qtype)]


def received(proto, peer, q):
    """Logs and counts a query; False when it is never to be answered."""
    state["total"] += 1
    log(proto, peer, q[3], q[4], q[0])
    if args.mode == "silent" or (proto == "tcp" and args.mode == "tcpclose"):
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
        replies = udp_replies(q)

        def send():
            answered()
            if args.mode == "spoof":
                # the right bytes from the wrong source port
                fam = socket.AF_INET6 if ":" in args.listen else socket.AF_INET
                with socket.socket(fam, socket.SOCK_DGRAM) as s:
                    s.bind((args.listen, 0))
                    for r in replies:
                        s.sendto(r, peer)
                return
            for r in replies:
                self.transport.sendto(r, peer)

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
                if args.mode == "silent":
                    await asyncio.sleep(30)
                break
            if args.delay:
                await asyncio.sleep(args.delay / 1000.0)
            answered()
            qid, qflags, question, qname, qtype, qclass = q
            if args.mode == "tcpreset":
                sock = writer.get_extra_info("socket")
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                writer.transport.abort()
                return
            if args.mode == "tcpdrip":
                r = build(qid, qflags, question, qtype)
                for b in struct.pack("!H", len(r)) + r:
                    writer.write(bytes([b]))
                    await writer.drain()
                    await asyncio.sleep(0.5)
                continue
            if args.mode == "bigtcp":
                r = bigtcp(qid, qflags, question)
            else:
                r = build(qid, qflags, question, qtype, tc=args.mode == "tctcp")
            # two writes: the reader must reassemble a split message
            msg = struct.pack("!H", len(r)) + r
            writer.write(msg[:7])
            await writer.drain()
            await asyncio.sleep(0.01)
            writer.write(msg[7:])
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
