#!/usr/bin/env python3
"""responder.py -- a scripted DNS upstream for the forwarding tests.

Listens on UDP and TCP at --listen/--port and answers every query according
to --mode; every query received is logged to --log as one line:
    <udp|tcp> <client port> <qname> <qtype> <id>
so that a test can tell which server was asked, over which transport, and
from which source port.  Loopback only; never run it on a real network.

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
  slow       answer after --delay milliseconds
"""
import argparse
import os
import socket
import struct
import sys
import threading
import time

p = argparse.ArgumentParser()
p.add_argument("--listen", default="127.0.0.1")
p.add_argument("--port", type=int, required=True)
p.add_argument("--mode", default="answer")
p.add_argument("--addr", default="192.0.2.1")
p.add_argument("--records", type=int, default=1)
p.add_argument("--delay", type=int, default=0)
p.add_argument("--log", default=None)
p.add_argument("--pidfile", default=None)
args = p.parse_args()

log_lock = threading.Lock()


def log(proto, peer, qname, qtype, qid):
    if not args.log:
        return
    with log_lock:
        with open(args.log, "a") as f:
            f.write("%s %d %s %d %d\n" % (proto, peer[1], qname, qtype, qid))


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


def build(qid, qflags, question, qtype, rcode=0, tc=False, records=None):
    flags = 0x8000 | (qflags & 0x0110) | 0x0080 | rcode  # QR, RD+CD copied, RA
    if tc:
        flags |= 0x0200
    answers = b""
    count = 0
    if rcode == 0 and not tc and qtype == 1:
        n = args.records if records is None else records
        base = socket.inet_aton(args.addr)
        for i in range(n):
            ip = base if i == 0 else base[:3] + bytes([(base[3] + i) % 256])
            answers += struct.pack("!HHHIH", 0xC00C, 1, 1, 300, 4) + ip
            count += 1
    return struct.pack("!HHHHHH", qid, flags, 1, count, 0, 0) + question + answers


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
    if m == "silent":
        return []
    if m == "servfail":
        return [build(qid, qflags, question, qtype, rcode=2)]
    if m == "refused":
        return [build(qid, qflags, question, qtype, rcode=5)]
    if m in ("tc", "tcpclose"):
        return [build(qid, qflags, question, qtype, tc=True)]
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


def serve_udp(sock):
    while True:
        data, peer = sock.recvfrom(65535)
        q = parse_query(data)
        if not q:
            continue
        log("udp", peer, q[3], q[4], q[0])
        if args.mode == "slow" and args.delay:
            time.sleep(args.delay / 1000.0)
        for r in udp_replies(q):
            sock.sendto(r, peer)


def read_exact(conn, n):
    buf = b""
    while len(buf) < n:
        chunk = conn.recv(n - len(buf))
        if not chunk:
            return None
        buf += chunk
    return buf


def serve_tcp_conn(conn, peer):
    try:
        conn.settimeout(10)
        while True:
            hdr = read_exact(conn, 2)
            if hdr is None:
                return
            data = read_exact(conn, struct.unpack("!H", hdr)[0])
            if data is None:
                return
            q = parse_query(data)
            if not q:
                return
            qid, qflags, question, qname, qtype, qclass = q
            log("tcp", peer, qname, qtype, qid)
            m = args.mode
            if m == "silent":
                time.sleep(10)
                return
            if m == "tcpclose":
                return
            if m == "slow" and args.delay:
                time.sleep(args.delay / 1000.0)
            rcode = {"servfail": 2, "refused": 5}.get(m, 0)
            r = build(qid, qflags, question, qtype, rcode=rcode)
            # two writes: the reader must reassemble a split message
            msg = struct.pack("!H", len(r)) + r
            conn.sendall(msg[:7])
            time.sleep(0.01)
            conn.sendall(msg[7:])
    except OSError:
        pass
    finally:
        conn.close()


def serve_tcp(lsock):
    while True:
        conn, peer = lsock.accept()
        threading.Thread(target=serve_tcp_conn, args=(conn, peer), daemon=True).start()


def main():
    fam = socket.AF_INET6 if ":" in args.listen else socket.AF_INET
    u = socket.socket(fam, socket.SOCK_DGRAM)
    u.bind((args.listen, args.port))
    t = socket.socket(fam, socket.SOCK_STREAM)
    t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    t.bind((args.listen, args.port))
    t.listen(64)
    if args.pidfile:
        with open(args.pidfile, "w") as f:
            f.write("%d\n" % os.getpid())
    threading.Thread(target=serve_tcp, args=(t,), daemon=True).start()
    serve_udp(u)


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        sys.exit(0)
