#!/usr/bin/env python3
"""xfr_in_primary.py -- a scripted primary for t_xfr_in.sh (standard library only).

    xfr_in_primary.py ADDR PORT ZONE MODEFILE LOG

Serves ZONE over TCP on ADDR PORT: an SOA query gets the zone's SOA, an
AXFR or IXFR the whole zone (IXFR is answered AXFR-style, RFC 1995 4).
What it sends is read from MODEFILE at every connection, one line:

    MODE SERIAL [EXPIRE]

    good        a correct transfer of serial SERIAL (www A 192.0.2.<SERIAL % 250>)
    truncated   the transfer's second message cut short, then the close
    noclosing   the records without the closing SOA, then the close
    outofzone   a correct transfer with one record of another zone in it
    rcode       the transfer answered NOTAUTH (the SOA query still NOERROR)
    question    the transfer's answer names another zone in its question
    dead        the connection is closed at once

SERIAL is the serial the SOA query and the transfer both carry (so a
serial that went backwards is "good" with a smaller one); EXPIRE is the
SOA expire value (default 1209600; refresh and retry are 1 when EXPIRE is
given, so that the secondary checks often).  Every query is logged to LOG
as "MODE QTYPE" (one line each).
"""
import socket
import struct
import sys
import threading

T_A, T_NS, T_SOA, T_IXFR, T_AXFR = 1, 2, 6, 251, 252


def wname(name):
    out = b""
    for label in name.rstrip(".").split("."):
        if label:
            out += bytes([len(label)]) + label.encode()
    return out + b"\0"


def rr(name, rtype, rdata, ttl=300):
    return wname(name) + struct.pack("!HHIH", rtype, 1, ttl, len(rdata)) + rdata


def soa(zone, serial, expire):
    refresh, retry = (1, 1) if expire != 1209600 else (3600, 600)
    rdata = wname("ns." + zone) + wname("hostmaster." + zone) + struct.pack(
        "!IIIII", serial, refresh, retry, expire, 60)
    return rr(zone, T_SOA, rdata)


def message(qid, qname, qtype, answers, rcode=0):
    hdr = struct.pack("!HHHHHH", qid, 0x8400 | rcode, 1, len(answers), 0, 0)
    q = wname(qname) + struct.pack("!HH", qtype, 1)
    return hdr + q + b"".join(answers)


def frame(msg):
    return struct.pack("!H", len(msg)) + msg


def parse_query(data):
    qid = struct.unpack("!H", data[:2])[0]
    i, labels = 12, []
    while data[i]:
        n = data[i]
        labels.append(data[i + 1:i + 1 + n].decode())
        i += 1 + n
    qtype = struct.unpack("!H", data[i + 1:i + 3])[0]
    return qid, ".".join(labels) + ".", qtype


def records(zone, serial, mode):
    out = [rr(zone, T_NS, wname("ns." + zone)),
           rr("ns." + zone, T_A, bytes([192, 0, 2, 53])),
           rr("www." + zone, T_A, bytes([192, 0, 2, serial % 250]))]
    if mode == "outofzone":
        out.append(rr("evil.other.test.", T_A, bytes([192, 0, 2, 66])))
    return out


def serve(conn, zone, modefile, log):
    try:
        with open(modefile) as f:
            parts = f.read().split()
        mode, serial = parts[0], int(parts[1])
        expire = int(parts[2]) if len(parts) > 2 else 1209600
        if mode == "dead":
            with open(log, "a") as f:
                f.write("dead connect\n")
            return
        buf = b""
        while True:
            while len(buf) < 2 or len(buf) < 2 + struct.unpack("!H", buf[:2])[0]:
                chunk = conn.recv(65535)
                if not chunk:
                    return
                buf += chunk
            n = struct.unpack("!H", buf[:2])[0]
            data, buf = buf[2:2 + n], buf[2 + n:]
            qid, qname, qtype = parse_query(data)
            with open(log, "a") as f:
                f.write("%s %d\n" % (mode, qtype))
            s = soa(zone, serial, expire)
            if qtype == T_SOA:
                conn.sendall(frame(message(qid, qname, qtype, [s])))
                continue
            if mode == "rcode":
                conn.sendall(frame(message(qid, qname, qtype, [], rcode=9)))
                return
            if mode == "question":
                conn.sendall(frame(message(qid, "other.test.", qtype, [s] + records(zone, serial, mode) + [s])))
                return
            recs = records(zone, serial, mode)
            m1 = message(qid, qname, qtype, [s] + recs[:1])
            rest = recs[1:] + ([] if mode == "noclosing" else [s])
            m2 = message(qid, qname, qtype, rest)
            conn.sendall(frame(m1))
            if mode == "truncated":
                f2 = frame(m2)
                conn.sendall(f2[:len(f2) // 2])
                return
            conn.sendall(frame(m2))
            if mode == "noclosing":
                return
    except (OSError, ValueError, IndexError, struct.error):
        pass
    finally:
        conn.close()


def main():
    addr, port, zone, modefile, log = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
    if not zone.endswith("."):
        zone += "."
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind((addr, port))
    srv.listen(16)
    while True:
        conn, _ = srv.accept()
        threading.Thread(target=serve, args=(conn, zone, modefile, log), daemon=True).start()


if __name__ == "__main__":
    main()
