#!/usr/bin/env python3
"""tcpabuse.py -- hostile TCP clients for the fault-matrix tests (standard library only).

  squat SRC ADDR PORT COUNT HOLD
        open COUNT connections to ADDR PORT from source address SRC, send
        nothing, and keep them HOLD seconds (or until the server closes them);
        print "connected=N" once every connect returned.  Run it in the
        background: the test asserts on the daemon's counters meanwhile.
  drip ADDR PORT NAME INTERVAL MAXWAIT
        one connection; a well-formed query for NAME, length prefix included,
        sent one byte every INTERVAL seconds; stops when the server closes
        the connection.  Prints "closed after N of M bytes", or "reply" when
        the whole message went through and was answered, or "open" after
        MAXWAIT seconds.
  halfclose ADDR PORT COUNT NAME
        one connection; COUNT queries for NAME in one write, then shutdown of
        the sending side; read until the server closes.  Prints
        "answered=N ids=ok|bad".
  reset ADDR PORT
        one connection; half of a query, then an abortive close (RST).
        Prints "reset".
"""

import select
import socket
import struct
import sys
import time

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from sendraw import build_query  # noqa: E402


def cmd_squat(args):
    src, addr, port, count, hold = args[0], args[1], int(args[2]), int(args[3]), float(args[4])
    socks = []
    for _ in range(count):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.bind((src, 0))
        s.settimeout(2)
        try:
            s.connect((addr, port))
            socks.append(s)
        except OSError:
            s.close()
    print("connected=%d" % len(socks), flush=True)
    end = time.time() + hold
    while socks and time.time() < end:
        r, _, _ = select.select(socks, [], [], min(0.5, max(0.0, end - time.time())))
        for s in r:
            try:
                data = s.recv(4096)
            except OSError:
                data = b""
            if not data:
                socks.remove(s)
                s.close()
    for s in socks:
        s.close()
    return 0


def cmd_drip(args):
    addr, port, name, interval, maxwait = args[0], int(args[1]), args[2], float(args[3]), float(args[4])
    msg = build_query(name, "A", 4242)
    data = struct.pack(">H", len(msg)) + msg
    sock = socket.create_connection((addr, port), timeout=2)
    end = time.time() + maxwait
    sent = 0
    while time.time() < end:
        if sent < len(data):
            try:
                sock.send(data[sent:sent + 1])
                sent += 1
            except OSError:
                print("closed after %d of %d bytes" % (sent, len(data)))
                return 0
        r, _, _ = select.select([sock], [], [], interval)
        if r:
            try:
                chunk = sock.recv(65537)
            except OSError:
                chunk = b""
            if not chunk:
                print("closed after %d of %d bytes" % (sent, len(data)))
                return 0
            print("reply")
            return 0
    print("open")
    return 0


def cmd_halfclose(args):
    addr, port, count, name = args[0], int(args[1]), int(args[2]), args[3]
    data = b""
    for i in range(count):
        m = build_query(name, "A", 1000 + i)
        data += struct.pack(">H", len(m)) + m
    sock = socket.create_connection((addr, port), timeout=10)
    sock.sendall(data)
    sock.shutdown(socket.SHUT_WR)
    buf = b""
    while True:
        try:
            chunk = sock.recv(65536)
        except OSError:
            break
        if not chunk:
            break
        buf += chunk
    ids, off = [], 0
    while off + 2 <= len(buf):
        n = struct.unpack(">H", buf[off:off + 2])[0]
        if off + 2 + n > len(buf):
            break
        ids.append(struct.unpack(">H", buf[off + 2:off + 4])[0])
        off += 2 + n
    good = sorted(ids) == list(range(1000, 1000 + count))
    print("answered=%d ids=%s" % (len(ids), "ok" if good else "bad"))
    return 0


def cmd_reset(args):
    addr, port = args[0], int(args[1])
    m = build_query("www.lab.test", "A", 77)
    data = struct.pack(">H", len(m)) + m
    sock = socket.create_connection((addr, port), timeout=2)
    sock.sendall(data[:len(data) // 2])
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()
    print("reset")
    return 0


COMMANDS = {"squat": cmd_squat, "drip": cmd_drip, "halfclose": cmd_halfclose, "reset": cmd_reset}

if __name__ == "__main__":
    if len(sys.argv) < 2 or sys.argv[1] not in COMMANDS:
        sys.stderr.write(__doc__)
        sys.exit(2)
    sys.exit(COMMANDS[sys.argv[1]](sys.argv[2:]))
