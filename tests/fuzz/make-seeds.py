#!/usr/bin/env python3
"""make-seeds.py -- write the seed corpora of the fuzz targets.

Usage: python3 tests/fuzz/make-seeds.py [TARGET...]
       (default: every target; each into tests/fuzz/corpus/TARGET/)

Seeds are written in the input format each target documents at its top
(tests/fuzz/fuzz_*.c).  The output is deterministic; re-running rewrites the same files.  Seeds are
named seed-* (query: the names below, *.bin); inputs found by libFuzzer sit
beside them under their SHA-1.

query: each seed is one raw DNS message as a client would send it over UDP
(the target also replays it as a TCP message).  The names match the zone
that tests/fuzz/fuzz_query.c builds (fuzz.test: a, c -> a, d -> c, out ->
outside, *.w wildcard, t TXT, deep.ent.x under an empty non-terminal) and its
forward rule (fwd.test), so that mutations start from inputs that reach every
branch: local answers, NXDOMAIN/NODATA, CNAME chains, wildcards, forwarding
with no server, EDNS handling and each bad-input verdict.
"""

import os
import struct
import sys


def name(text):
    out = b""
    for label in text.rstrip(".").split("."):
        if label:
            out += bytes([len(label)]) + label.encode()
    return out + b"\x00"


def header(qid=0x1234, flags=0x0100, qd=1, an=0, ns=0, ar=0):
    return struct.pack(">HHHHHH", qid, flags, qd, an, ns, ar)


def question(qname, qtype=1, qclass=1):
    return name(qname) + struct.pack(">HH", qtype, qclass)


def opt(bufsize=1232, ext_rcode=0, version=0, do=False, rdata=b"", owner=b"\x00"):
    ttl = (ext_rcode << 24) | (version << 16) | (0x8000 if do else 0)
    return owner + struct.pack(">HHIH", 41, bufsize, ttl, len(rdata)) + rdata


def query(qname, qtype=1, edns=None, flags=0x0100, qid=0x1234, qclass=1):
    ar = 1 if edns is not None else 0
    msg = header(qid, flags, 1, 0, 0, ar) + question(qname, qtype, qclass)
    if edns is not None:
        msg += edns
    return msg


A, NS, CNAME, SOA, PTR, MX, TXT, AAAA, SRV, DS, ANY, AXFR, IXFR = \
    1, 2, 5, 6, 12, 15, 16, 28, 33, 43, 255, 252, 251
COOKIE = struct.pack(">HH", 10, 8) + bytes(range(8))
PADDING = struct.pack(">HH", 12, 16) + bytes(16)

QUERY_SEEDS = {
    # well-formed queries over the local zone
    "q-a": query("a.fuzz.test", A),
    "q-aaaa-edns": query("a.fuzz.test", AAAA, opt()),
    "q-cname-chain": query("d.fuzz.test", A, opt()),
    "q-cname-type": query("c.fuzz.test", CNAME),
    "q-cname-out": query("out.fuzz.test", A, opt()),
    "q-wildcard": query("host.w.fuzz.test", A),
    "q-wildcard-deep": query("x.y.w.fuzz.test", AAAA, opt(do=True)),
    "q-txt": query("t.fuzz.test", TXT, opt(bufsize=512)),
    "q-soa-apex": query("fuzz.test", SOA),
    "q-ns-apex": query("fuzz.test", NS, opt()),
    "q-any": query("a.fuzz.test", ANY),
    "q-nodata": query("a.fuzz.test", MX, opt()),
    "q-nxdomain": query("nope.fuzz.test", A),
    "q-ent": query("ent.x.fuzz.test", A, opt()),
    "q-mixed-case": query("A.FuZz.TeSt", A),
    "q-srv": query("_sip._udp.fuzz.test", SRV),
    "q-ds": query("fuzz.test", DS, opt(do=True)),
    # routed elsewhere (no servers configured in the harness)
    "q-forward-rule": query("host.fwd.test", A, opt()),
    "q-default": query("www.example.com", A),
    "q-privatelink": query("acct.privatelink.openai.azure.com", A, opt()),
    "q-root": query(".", NS),
    "q-ptr": query("1.0.0.127.in-addr.arpa", PTR),
    # EDNS variants
    "edns-cookie": query("a.fuzz.test", A, opt(rdata=COOKIE)),
    "edns-padding-small-buf": query("a.fuzz.test", A, opt(bufsize=100, rdata=PADDING)),
    "edns-badvers": query("a.fuzz.test", A, opt(version=1)),
    "edns-big-buf": query("host.w.fuzz.test", A, opt(bufsize=65535)),
    # bad input, one per verdict
    "bad-short": header()[:11],
    "bad-qr": header(flags=0x8100) + question("a.fuzz.test"),
    "bad-opcode-notify": header(flags=0x2000) + question("fuzz.test", SOA),
    "bad-opcode-update": header(flags=0x2800) + question("fuzz.test", SOA),
    "bad-qdcount-0": header(qd=0),
    "bad-qdcount-2": header(qd=2) + question("a.fuzz.test") + question("c.fuzz.test"),
    "bad-truncated-name": header() + name("a.fuzz.test")[:6],
    "bad-no-class": header() + name("a.fuzz.test") + b"\x00\x01",
    "bad-pointer-in-question": header() + b"\x01a\xc0\x0c" + struct.pack(">HH", A, 1),
    "bad-pointer-loop": header() + b"\xc0\x0c" + struct.pack(">HH", A, 1),
    "bad-label-64": header() + b"\x40" + b"a" * 64 + b"\x00" + struct.pack(">HH", A, 1),
    "bad-two-opt": header(ar=2) + question("a.fuzz.test") + opt() + opt(),
    "bad-opt-owner": header(ar=1) + question("a.fuzz.test") + opt(owner=name("x")),
    "bad-opt-rdlen": header(ar=1) + question("a.fuzz.test") + opt()[:-2] + b"\x00\x20",
    "bad-arcount-no-record": header(ar=1) + question("a.fuzz.test"),
    "bad-class-ch": query("version.bind", TXT, qclass=3),
    "bad-axfr": query("fuzz.test", AXFR),
    "bad-ixfr": query("fuzz.test", IXFR),
    # long names near the limits
    "long-name-253": query(".".join(["a" * 63] * 3 + ["b" * 61]), A),
    "many-labels": query(".".join(["x"] * 120) + ".fuzz.test", A, opt()),
}




HERE = os.path.dirname(os.path.abspath(__file__))

TARGETS = {
    "query": lambda: {k + ".bin": v for k, v in QUERY_SEEDS.items()},
}


def main():
    targets = sys.argv[1:] or sorted(TARGETS)
    for t in targets:
        if t not in TARGETS:
            sys.exit("unknown target %s (known: %s)" % (t, " ".join(sorted(TARGETS))))
        outdir = os.path.join(HERE, "corpus", t)
        os.makedirs(outdir, exist_ok=True)
        seeds = TARGETS[t]()
        for key, data in sorted(seeds.items()):
            with open(os.path.join(outdir, key), "wb") as f:
                f.write(data)
        print("%d seeds in %s" % (len(seeds), outdir))


if __name__ == "__main__":
    main()
