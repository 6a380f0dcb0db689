#!/usr/bin/env python3
"""make-seeds.py -- write the seed corpora of the fuzz targets.

Usage: python3 tests/fuzz/make-seeds.py [TARGET...]
       (default: every target; each into tests/fuzz/corpus/TARGET/)

Seeds are built from the test fixtures -- tests/fixtures/conf,
tests/fixtures/zones, zones/, conf/plinkfwd.conf, the ARM REST examples and
SDK recordings in tests/fixtures/arm, the token formats tests/arm/fake_arm.py
serves, the commands tests/integration/t_ctl.sh runs -- and from the cases
tests/unit/test_query.c and tests/integration/t_splice.sh build by hand, in
the input format each target documents at its top (tests/fuzz/fuzz_*.c).
The output is deterministic; re-running rewrites the same files.  Seeds are
named seed-* (query: the names below, *.bin); inputs found by libFuzzer sit
beside them under their SHA-1.

doh is not here: its seeds are HTTP/2 byte streams, which the standard
library cannot write; tests/fuzz/make_doh_seeds.c (built by make fuzz) makes
them with nghttp2's client.

query: each seed is one raw DNS message as a client would send it over UDP
(the target also replays it as a TCP message).  The names match the zone
that tests/fuzz/fuzz_query.c builds (fuzz.test: a, c -> a, d -> c, out ->
outside, *.w wildcard, t TXT, deep.ent.x under an empty non-terminal) and its
forward rule (fwd.test), so that mutations start from inputs that reach every
branch: local answers, NXDOMAIN/NODATA, CNAME chains, wildcards, forwarding
with no server, EDNS handling and each bad-input verdict.
"""

import json
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




# ------------------------------------------------------------ fixtures

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.normpath(os.path.join(HERE, "..", ".."))


def fixture(*parts):
    with open(os.path.join(TOP, *parts), "rb") as f:
        return f.read()


def fixture_json(*parts):
    return json.loads(fixture(*parts).decode("utf-8"))


def jdump(obj):
    return json.dumps(obj, separators=(",", ":"), sort_keys=True).encode()


# ------------------------------------------------------------ reply

RR_TYPES = {"A": 1, "NS": 2, "CNAME": 5, "SOA": 6, "MX": 15, "TXT": 16, "AAAA": 28, "SRV": 33}


def rr(owner, rtype, rdata, ttl=300, cls=1):
    """One record; owner is a text name or raw wire bytes (a pointer)."""
    o = owner if isinstance(owner, bytes) else name(owner)
    return o + struct.pack(">HHIH", RR_TYPES.get(rtype, rtype) if isinstance(rtype, str) else rtype,
                           cls, ttl, len(rdata)) + rdata


def ip4(text):
    return bytes(int(x) for x in text.split("."))


def ip6(text):
    import ipaddress
    return ipaddress.IPv6Address(text).packed


def soa(mname="ns.example.", rname="host.example.", serial=1, minimum=60):
    return name(mname) + name(rname) + struct.pack(">IIIII", serial, 3600, 300, 86400, minimum)


QPTR = b"\xc0\x0c"  # the question name


def built(rcode=0, flags=0x8180, an=(), ns=(), ar=(), mode=2):
    """A mode-2 piece: 12 header bytes (ID, QDCOUNT filled in by the
    harness), then the records after the question the harness copies."""
    hdr = struct.pack(">HHHHHH", 0, (flags & 0xfff0) | rcode, 1, len(an), len(ns), len(ar))
    return bytes([mode]) + piece(hdr + b"".join(an) + b"".join(ns) + b"".join(ar))


def piece(data):
    return struct.pack(">H", len(data)) + data


def raw(data, mode=1):
    return bytes([mode]) + piece(data)


def silent():
    return bytes([3]) + piece(b"")


def full_reply(qname, qtype, an=(), rcode=0, flags=0x8180):
    """A whole reply message (for modes 0 and 1)."""
    return (struct.pack(">HHHHHH", 0, flags | rcode, 1, len(an), 0, 0) + name(qname) +
            struct.pack(">HH", qtype, 1) + b"".join(an))


def upstream_opt(cookie=True, nsid=True, ede=True):
    data = b""
    if cookie:
        data += struct.pack(">HH", 10, 24) + bytes(range(1, 25))
    if nsid:
        data += struct.pack(">HH", 3, 8) + b"upstream"
    if ede:
        data += struct.pack(">HH", 15, 4) + b"\x00\x00up"
    return b"\x00" + struct.pack(">HHIH", 41, 1232, 0, len(data)) + data


# question selectors of fuzz_reply.c
Q_WWW, Q_FWD, Q_BLOB, Q_OPENAI, Q_LOCAL_NX, Q_PL_OPENAI, Q_CONTOSO, Q_PL_CONTOSO, Q_MX, Q_SOA = range(10)
# client byte: bit 0 TCP, 1 EDNS, 2 DO, 3 CD, 4-5 size (512, 1232, 4096, 100), 6 mixed case, 7 RD clear
C_UDP, C_TCP, C_EDNS = 0x00, 0x01, 0x12


def reply_seeds():
    a = lambda ip, ttl=300, owner=QPTR: rr(owner, "A", ip4(ip), ttl)
    cname = lambda owner, target, ttl=300: rr(owner, "CNAME", name(target), ttl)
    soa_rr = rr("example.com", "SOA", soa(), 60)
    seeds = {
        # test_query.c: a good reply, cached
        "www-a": bytes([Q_WWW, C_UDP]) + built(an=[a("192.0.2.10")]),
        "www-a-edns": bytes([Q_WWW, C_EDNS | 0x04]) + built(an=[a("192.0.2.10")], ar=[upstream_opt()]),
        "www-a-tcp-client": bytes([Q_WWW, C_TCP | 0x02]) + built(an=[a("192.0.2.10")]),
        "www-mixed-case": bytes([Q_WWW, 0x40]) + built(an=[a("192.0.2.10")]),
        "www-nxdomain": bytes([Q_WWW, C_UDP]) + built(rcode=3, ns=[soa_rr]),
        "www-nodata": bytes([Q_WWW, C_EDNS]) + built(ns=[soa_rr]),
        "www-ttl0": bytes([Q_WWW, C_UDP]) + built(an=[a("192.0.2.10", ttl=0)]),
        # failover: SERVFAIL / REFUSED, then the other server
        "fwd-servfail-then-ok": bytes([Q_FWD, C_UDP]) + built(rcode=2) +
        built(an=[rr(QPTR, "AAAA", ip6("2001:db8::1"))]),
        "www-refused-then-ok": bytes([Q_WWW, C_UDP]) + built(rcode=5) + built(an=[a("192.0.2.11")]),
        "www-silent-then-ok": bytes([Q_WWW, C_UDP]) + silent() + built(an=[a("192.0.2.12")]),
        "www-all-fail": bytes([Q_WWW, C_UDP]) + built(rcode=2) + built(rcode=2),
        # a reply that does not match (wrong ID: mode 0), then the timeout
        "www-id-mismatch": bytes([Q_WWW, C_UDP]) + raw(full_reply("www.example.com", 1), mode=0),
        "www-raw-patched": bytes([Q_WWW, C_UDP]) + raw(full_reply("www.example.com", 1, [a("192.0.2.13")])),
        "www-wrong-question": bytes([Q_WWW, C_UDP]) + raw(full_reply("other.example.com", 1)),
        # TC over UDP: the same server over TCP (length prefix added, and raw)
        "www-tc-then-tcp": bytes([Q_WWW, C_UDP]) + built(flags=0x8380) + built(an=[a("192.0.2.14")]),
        "www-tc-then-raw-stream": bytes([Q_WWW, C_UDP]) + built(flags=0x8380) +
        bytes([2 | 4]) + piece(b"\x00\x05short"),
        # a big answer for a 512-byte client: truncated on the way out
        "www-big-udp": bytes([Q_WWW, C_UDP]) + built(an=[a("192.0.2.%d" % i) for i in range(1, 60)]),
        "mx-big-edns": bytes([Q_MX, C_EDNS]) + built(
            an=[rr(QPTR, "MX", struct.pack(">H", i) + name("mx%d.example.com" % i)) for i in range(40)]),
        "soa": bytes([Q_SOA, C_EDNS]) + built(an=[rr(QPTR, "SOA", soa())], ar=[upstream_opt(cookie=False)]),
        # t_splice.sh: a public chain into the zone file privatelink.blob...
        "blob-splice-zone": bytes([Q_BLOB, C_UDP]) + built(an=[
            cname(QPTR, "sa1.privatelink.blob.core.windows.net", 60),
            cname("sa1.privatelink.blob.core.windows.net", "blob.xyz.store.core.windows.net", 60),
            a("20.0.0.4", 60, "blob.xyz.store.core.windows.net")]),
        "blob-splice-zone-nx": bytes([Q_BLOB, C_EDNS]) + built(an=[
            cname(QPTR, "nope.privatelink.blob.core.windows.net", 60)]),
        # ... into the catalogue: the private half from the azure group
        "openai-splice-forward": bytes([Q_OPENAI, C_UDP]) + built(an=[
            cname(QPTR, "acct.privatelink.openai.azure.com", 10),
            cname("acct.privatelink.openai.azure.com", "x.cloudapp.net", 10),
            a("192.0.2.10", 10, "x.cloudapp.net")]) + built(an=[a("10.0.0.5", 10)]),
        "openai-splice-forward-nx": bytes([Q_OPENAI, C_EDNS]) + built(an=[
            cname(QPTR, "acct.privatelink.openai.azure.com", 10)]) + built(rcode=3, ns=[soa_rr]),
        "openai-splice-forward-fail": bytes([Q_OPENAI, C_TCP]) + built(an=[
            cname(QPTR, "acct.privatelink.openai.azure.com", 10)]) + built(rcode=2),
        "openai-splice-hop": bytes([Q_OPENAI, C_UDP]) + built(an=[
            cname(QPTR, "hop.openai.azure.com", 10),
            cname("hop.openai.azure.com", "acct2.privatelink.openai.azure.com", 10)]) +
        built(an=[a("10.0.0.6", 10)]),
        # ... into an admin privatelink rule (corp group)
        "contoso-splice-rule": bytes([Q_CONTOSO, C_UDP]) + built(an=[
            cname(QPTR, "app.privatelink.contoso.test", 30)]) +
        built(an=[rr(QPTR, "TXT", b"\x07private", 30)]),
        # fallback: a zone's NXDOMAIN, a privatelink group's NXDOMAIN
        "local-nx-fallback": bytes([Q_LOCAL_NX, C_UDP]) + built(an=[a("192.0.2.20")]),
        "pl-openai-nx-fallback": bytes([Q_PL_OPENAI, C_EDNS]) + built(rcode=3, ns=[soa_rr]) +
        built(an=[rr(QPTR, "AAAA", ip6("2001:db8::20"))]),
        "pl-contoso-nx": bytes([Q_PL_CONTOSO, C_UDP]) + built(rcode=3, ns=[soa_rr]),
        # the type chosen by the input (bit 7 of the question byte)
        "fwd-type-ds": bytes([0x80 | Q_FWD, 0, 43, C_EDNS | 0x04]) + built(rcode=0),
        # garbage, a header only
        "garbage": bytes([Q_WWW, C_UDP]) + raw(b"\xff" * 40, mode=0),
        "header-only": bytes([Q_WWW, C_UDP]) + built(),
    }
    return {"seed-" + k: v for k, v in seeds.items()}


# ------------------------------------------------------------ config

CONFIG_EXTRA = {
    "arm-managed-identity": """server:
    listen: 127.0.0.1@5300
    state-dir: /var/lib/plinkfwd
arm:
    subscription: 00000000-0000-0000-0000-00000000aaaa
    subscription: 00000000-0000-0000-0000-00000000bbbb
    resource-group: rg-dns
    zone-filter: privatelink.*
    zone-fallback: privatelink.blob.core.windows.net public
    fallback: none
    interval: 120
    max-inflight: 2
    max-retries: 3
    page-size: 500
    client-id: 11111111-1111-1111-1111-111111111111
""",
    "arm-client-secret": """server:
    cloud: AzureChinaCloud
arm:
    auth: client-secret
    tenant-id: 22222222-2222-2222-2222-222222222222
    client-id: 11111111-1111-1111-1111-111111111111
    client-secret-file: /etc/plinkfwd/secret
    subscription: 00000000-0000-0000-0000-00000000aaaa
    arm-endpoint: https://127.0.0.1:8443/
    login-endpoint: https://127.0.0.1:8443
    ca-file: /etc/plinkfwd/ca.pem
    timeout: 10
""",
    "arm-workload-identity": """arm:
    auth: workload-identity
    arm-cloud: AzureUSGovernment
    federated-token-file: /var/run/secrets/azure/tokens/azure-identity-token
    subscription: 00000000-0000-0000-0000-00000000aaaa
    api-version: 2024-06-01
    audience: https://management.usgovcloudapi.net
    imds-endpoint: http://127.0.0.1:8080
""",
    "edns-health-cache": """server:
    listen: 0.0.0.0@53
    listen: [::]@53
    allow: 10.0.0.0/8
    deny: 10.9.0.0/16
    nsid: plinkfwd-1
    cookies-required-udp: yes
    upstream-max-qps: 500
    upstream-max-outstanding: 100
    upstream-down-after: 5
    upstream-probe-interval: 2000
    upstream-socket-reuse: 16
    cache-size: 512k
    cache-min-ttl: 5
    cache-max-ttl: 3600
    cache-negative-max-ttl: 300
    serve-stale: 86400
    privatelink-fallback: public
    query-log: /var/log/plinkfwd/queries.log
    control-socket-mode: 0660
upstream: azure
    server: 127.0.0.53
upstream: corp
    server: 127.0.0.54@5353
    server: [fd00::53]@53
forward: corp.example.
    to: corp
    fallback: public
forward: privatelink.contoso.test
    to: corp
zone: privatelink.blob.core.windows.net.
    file: zones/blob.zone
    fallback: none
""",
}


def config_seeds():
    seeds = {}
    d = os.path.join(TOP, "tests", "fixtures", "conf")
    for f in sorted(os.listdir(d)):
        if f.endswith(".conf"):
            seeds["seed-" + f] = fixture("tests", "fixtures", "conf", f)
    seeds["seed-plinkfwd.conf"] = fixture("conf", "plinkfwd.conf")
    for k, v in CONFIG_EXTRA.items():
        seeds["seed-%s.conf" % k] = v.encode()
    return seeds


# ------------------------------------------------------------ zone

ZONE_EXTRA = {
    "features": """$TTL 300
@ IN SOA ns.fuzz.test. host.fuzz.test. ( 2024010101 3600 300
        86400 60 )
@ IN NS ns
@ IN MX 10 mail
ns IN A 192.0.2.53
www IN A 192.0.2.1
www IN AAAA 2001:db8::1
www 60 IN TXT "v=spf1 -all" "second string"
alias IN CNAME www
chain IN CNAME alias
loop1 IN CNAME loop2
loop2 IN CNAME loop1
out IN CNAME elsewhere.example.
*.w IN A 192.0.2.2
*.w IN TXT "wild"
deep.ent.x IN A 192.0.2.3
_sip._udp IN SRV 10 60 5060 sip
1.2 IN PTR host.example.
mail IN A 192.0.2.25
""",
    "origin-ttl": """$ORIGIN fuzz.test.
$TTL 1h
@ 1d IN SOA ns hostmaster 1 2h 30m 1w 5m
sub 600 IN NS ns.sub
ns.sub IN A 192.0.2.9
$ORIGIN sub2.fuzz.test.
host IN A 192.0.2.10
@ IN AAAA ::1
""",
    "many": "$TTL 60\n@ IN SOA ns h 1 2 3 4 5\n" +
            "".join("h%d IN A 10.0.%d.%d\n" % (i, i // 250, i % 250) for i in range(300)) +
            "".join("t IN TXT \"%s\"\n" % ("x" * 200) for _ in range(8)),
}


def to_fuzz_test(text, origin):
    return text.replace(origin + ".", "fuzz.test.").replace(origin, "fuzz.test")


def zone_seeds():
    seeds = {}
    for d, origins in (("zones", None), (os.path.join("tests", "fixtures", "zones"), None)):
        for f in sorted(os.listdir(os.path.join(TOP, d))):
            if not f.endswith(".zone"):
                continue
            text = fixture(d, f).decode()
            origin = f[:-len(".zone")]
            for line in text.splitlines():
                if line.startswith("$ORIGIN"):
                    origin = line.split()[1].rstrip(".")
                    break
            seeds["seed-" + f] = to_fuzz_test(text, origin).encode()
    for k, v in ZONE_EXTRA.items():
        seeds["seed-%s.zone" % k] = v.encode()
    return seeds


# ------------------------------------------------------------ ARM

SUB_A = "00000000-0000-0000-0000-00000000aaaa"
SUB_B = "00000000-0000-0000-0000-00000000bbbb"


def example_body(f):
    return fixture_json("tests", "fixtures", "arm", "examples", f)["responses"]["200"]["body"]


def recording_bodies(f):
    out = []
    for e in fixture_json("tests", "fixtures", "arm", "recordings", f)["Entries"]:
        body = e.get("ResponseBody")
        if e.get("RequestMethod") == "GET" and isinstance(body, (dict, str)) and body:
            if isinstance(body, str):
                try:
                    body = json.loads(body)
                except ValueError:
                    continue
            out.append((e["RequestUri"], body))
    return out


def arm_records_seeds():
    seeds = {}
    d = os.path.join(TOP, "tests", "fixtures", "arm", "examples")
    for f in sorted(os.listdir(d)):
        if f.startswith("RecordSet") and ("List" in f or "Get" in f):
            seeds["seed-" + f] = jdump(example_body(f))
    for uri, body in recording_bodies("ListRecordSetsByType_ListNextPageWithoutSuffix_"
                                      "ExpectNextRecordSetsRetrieved.json"):
        if "value" in body:
            seeds["seed-recording-%d.json" % len(seeds)] = jdump(body)
    seeds["seed-error-envelope.json"] = jdump({"error": {"code": "AuthorizationFailed",
                                                         "message": "The client does not have "
                                                         "authorization\nsecond line"}})
    return seeds


def rewrite_sub(obj, sub):
    text = json.dumps(obj)
    text = text.replace("/subscriptions/subscriptionId/", "/subscriptions/%s/" % sub)
    return json.loads(text)


def arm_zones_seeds():
    zl = example_body("PrivateZoneListInSubscription.json")
    rg = example_body("PrivateZoneListInResourceGroup.json")
    records = example_body("RecordSetALLList.json")
    a_list = rewrite_sub(zl, SUB_A)
    a_list.pop("nextLink", None)
    b_list = rewrite_sub(rg, SUB_B)
    b_list.pop("nextLink", None)
    paged = rewrite_sub(zl, SUB_A)
    page2 = {"value": [dict(a_list["value"][0], name="privatezone3.com",
                            id=a_list["value"][0]["id"].replace("privatezone1", "privatezone3"))]}
    recs = jdump(records)
    seeds = {
        "two-subs": b"\0".join([jdump(a_list), jdump(b_list), recs, recs, recs, recs]),
        "paged": b"\0".join([jdump(paged), jdump({"value": []}), jdump(page2), recs, recs, recs]),
        "second-round": b"\0".join([jdump(a_list), jdump({"value": []}), recs, recs,
                                     jdump({"value": []}), jdump(a_list)]),
        "http-errors": b"\0".join([b"HTTP 403\n" + jdump({"error": {"code": "AuthorizationFailed",
                                                                     "message": "no"}}),
                                    jdump(b_list), b"HTTP 404\n", b"HTTP 500\n", recs]),
        "http-401": b"\0".join([b"HTTP 401\n", jdump(a_list), jdump({"value": []}), recs, recs]),
        "malformed": b"\0".join([b"{\"value\": [", jdump(b_list), b"not json"]),
    }
    for i, (uri, body) in enumerate(recording_bodies("ListZonesInSubscription_ListNextPage_"
                                                     "ExpectNextZonesRetrieved.json")):
        text = json.dumps(body).replace("0e5a46b1-de0b-4ec3-a5d7-dda908b4e076", SUB_A)
        seeds["recording-%d" % i] = text.encode()
    return {"seed-" + k: v for k, v in seeds.items()}


# ------------------------------------------------------------ token

def token_seeds():
    # flow: 0 managed identity (IMDS), 1 client secret, 2 workload identity;
    # status index into fuzz_token.c's STATUSES (0 = 200, 4 = 400, 9 = 429, 10 = 500)
    now = 1700000000
    imds = {"access_token": "eyJ0eXAiOiJKV1QifQ.eyJhdWQiOiJhcm0ifQ.c2ln", "client_id": "system",
            "expires_in": "86399", "expires_on": str(now + 86399), "ext_expires_in": "86399",
            "not_before": str(now), "resource": "https://management.azure.com/", "token_type": "Bearer"}
    entra = {"token_type": "Bearer", "expires_in": 3599, "ext_expires_in": 3599,
             "access_token": "eyJ0eXAiOiJKV1QifQ.eyJhdWQiOiJhcm0ifQ.c2ln"}
    seeds = {
        "imds": (0, 0, jdump(imds)),
        "imds-expires-on-only": (0, 0, jdump({"access_token": "t", "expires_on": str(now + 600)})),
        "secret-v2": (1, 0, jdump(entra)),
        "secret-strings": (1, 0, jdump(dict(entra, expires_in="3599"))),
        "workload-v2": (2, 0, jdump(entra)),
        "appservice-date": (0, 0, jdump({"access_token": "t", "token_type": "Bearer",
                                         "expires_on": "11/22/2030 10:00:00 AM +00:00"})),
        "rfc3339-date": (2, 0, jdump({"access_token": "t", "expires_on": "2030-11-22T10:00:00Z"})),
        "expired": (1, 0, jdump({"access_token": "t", "expires_on": 1000})),
        # (expires_on - now - 300) * 1000 is 2^64: the refresh time wrapped to
        # "now" (fuzz_token.c's clock is at 1700000000)
        "expires-on-wraps": (1, 0, jdump({"access_token": "t", "expires_on": 2**61 + 300 + 1700000000})),
        "not-bearer": (1, 0, jdump(dict(entra, token_type="pop"))),
        "token-with-space": (0, 0, jdump(dict(imds, access_token="a b"))),
        "no-token": (2, 0, jdump({"expires_in": 3599})),
        "error-400": (1, 4, jdump({"error": "invalid_client", "error_description":
                                   "AADSTS7000215: Invalid client secret provided.\r\nTrace ID: x"})),
        "imds-404": (0, 7, jdump({"error": "invalid_request", "error_description": "Identity not found"})),
        "throttled": (0, 9, b"Too many requests"),
        "server-error": (2, 10, b""),
        "not-json": (1, 0, b"<html>hello</html>"),
    }
    return {"seed-" + k: bytes([f, st]) + body for k, (f, st, body) in seeds.items()}


# ------------------------------------------------------------ control, http

def control_seeds():
    lines = ["status", "stats", "zones", "flush", "flush www.example.com", "flush bad..name",
             "explain contoso.privatelink.openai.azure.com A", "explain Alias.PrivateLink.OpenAI.Azure.COM",
             "explain txt.privatelink.openai.azure.com TXT", "explain nope.privatelink.openai.azure.com",
             "explain www.lab.test AAAA", "explain www.example.com", "explain acct.openai.azure.com",
             "explain x.privatelink.contoso.test", "explain bad..name", "explain www.lab.test NOSUCHTYPE",
             "explain . NS", "sync", "sync privatelink.openai.azure.com", "reload", "bogus",
             "status extra", "explain a b c d e f g h i", ""]
    seeds = {"seed-%02d" % i: (l + "\n").encode() for i, l in enumerate(lines)}
    seeds["seed-crlf"] = b"status\r\n"
    seeds["seed-no-newline"] = b"status"
    seeds["seed-long-line"] = b"explain " + b"a" * 5000 + b"\n"
    seeds["seed-two-lines"] = b"zones\nstatus\n"
    return seeds


def http_seeds():
    reqs = {
        "metrics": b"GET /metrics HTTP/1.1\r\nHost: 127.0.0.1:9153\r\nAccept: */*\r\n\r\n",
        "healthz": b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n",
        "readyz-10": b"GET /readyz HTTP/1.0\r\n\r\n",
        "head-metrics": b"HEAD /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        "post": b"POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello",
        "not-found": b"GET /nope?x=1 HTTP/1.1\r\nHost: x\r\n\r\n",
        "absolute-uri": b"GET http://127.0.0.1:9153/healthz HTTP/1.1\r\nHost: x\r\n\r\n",
        "pipelined": b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\nGET /readyz HTTP/1.1\r\nHost: x\r\n\r\n",
        "query-string": b"GET /metrics?name[]=x HTTP/1.1\r\nHost: x\r\n\r\n",
        "chunked": b"GET /metrics HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        "big-header": b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 9000 + b"\r\n\r\n",
        "http09": b"GET /metrics\r\n\r\n",
        "garbage": b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03",
    }
    return {"seed-" + k: v for k, v in reqs.items()}


def arm_pe_seeds():
    """The published endpoint lists (tests/fixtures/arm/network), and pages
    made in their shape: every connection state, both FQDN spellings,
    placeholders, IPv6, junk addresses, an FQDN no catalogue entry covers,
    a nextLink."""
    seeds = {}
    d = os.path.join(TOP, "tests", "fixtures", "arm", "network")
    for f in sorted(os.listdir(d)):
        if f.startswith("PrivateEndpointList"):
            body = fixture_json("tests", "fixtures", "arm", "network", f)["responses"]["200"]["body"]
            seeds["seed-" + f] = jdump(body)
    tmpl = fixture_json("tests", "fixtures", "arm", "network",
                        "PrivateEndpointListAll.json")["responses"]["200"]["body"]["value"]

    def pe(i, status, manual, fqdns):
        p = json.loads(json.dumps(tmpl[1 if manual else 0]))
        p["id"] = ("/subscriptions/%s/resourceGroups/rg%d/providers/Microsoft.Network/privateEndpoints/pe%d"
                   % (SUB_A, i % 3, i))
        p["name"] = "pe%d" % i
        key = "manualPrivateLinkServiceConnections" if manual else "privateLinkServiceConnections"
        p["properties"][key][0]["properties"]["privateLinkServiceConnectionState"]["status"] = status
        p["properties"]["customDnsConfigs"] = [{"fqdn": f, "ipAddresses": ips} for f, ips in fqdns]
        return p

    page = {"value": [
        pe(1, "Approved", False, [("contoso.openai.azure.com", ["10.5.0.4"]),
                                   ("contoso.cognitiveservices.azure.com", ["10.5.0.4", "fd00::4"]),
                                   ("contoso.services.ai.azure.com", ["10.5.0.6"])]),
        pe(2, "Pending", True, [("other.openai.azure.com", ["10.5.0.9"])]),
        pe(3, "Rejected", False, [("r.privatelink.blob.core.windows.net", ["10.6.0.1"])]),
        pe(4, "Disconnected", False, [("d.blob.core.windows.net", ["10.6.0.2"])]),
        pe(5, "Approved", False, [("contoso.privatelink.openai.azure.com", ["10.6.0.3"]),
                                   ("c1.eastus.kusto.windows.net", ["10.6.0.4"]),
                                   ("acct.eastus.batch.azure.com", ["10.6.0.5"]),
                                   ("reg.westeurope.data.privatelink.azurecr.io", ["10.6.0.6"]),
                                   ("app.apps.corp.example", ["10.8.0.1"]),
                                   ("corp.example", ["10.8.0.2"]),
                                   ("abc.cosmos.com", ["192.168.0.4"]),
                                   ("x.privatelink.filtered.example", ["10.8.0.3"]),
                                   ("BAD NAME", ["10.0.0.1"]),
                                   ("junk.openai.azure.com", ["not-an-ip", 7, "10.0.0.300"])]),
        pe(6, "Updating", False, [("u.openai.azure.com", ["10.6.0.7"])]),
    ], "nextLink": "https://management.azure.com/subscriptions/%s/providers/Microsoft.Network/"
                   "privateEndpoints?api-version=2026-01-01&$skipToken=abc" % SUB_A}
    seeds["seed-states.json"] = jdump(page)
    seeds["seed-empty.json"] = jdump({"value": []})
    seeds["seed-no-id.json"] = jdump({"value": [{"name": "x", "properties": {}}]})
    return seeds


def arm_rg_seeds():
    """The published Resource Graph answers (tests/fixtures/arm/resourcegraph),
    and pages in their shape with the rows a sync reads: private DNS zones,
    private endpoints, dnsresources record sets; a truncated answer; the
    table format; a quota reset duration on the first line."""
    seeds = {}
    d = os.path.join(TOP, "tests", "fixtures", "arm", "resourcegraph")
    for f in sorted(os.listdir(d)):
        body = fixture_json("tests", "fixtures", "arm", "resourcegraph", f)["responses"]["200"]["body"]
        seeds["seed-" + f] = jdump(body)
    zid = ("/subscriptions/%s/resourceGroups/rg-a/providers/Microsoft.Network/privateDnsZones/"
           "privatelink.blob.core.windows.net" % SUB_A)
    rows = [
        {"id": zid + "/SOA/@", "name": "@", "type": "microsoft.network/privatednszones/soa",
         "properties": {"ttl": 3600, "soaRecord": {"email": "azureprivatedns-host.microsoft.com",
                                                    "expireTime": 2419200, "host": "azureprivatedns.net",
                                                    "minimumTtl": 10, "refreshTime": 3600, "retryTime": 300,
                                                    "serialNumber": 1}}},
        {"id": zid + "/A/sa1", "name": "sa1", "type": "microsoft.network/privatednszones/a",
         "properties": {"ttl": 10, "aRecords": [{"ipv4Address": "10.3.0.4"}]}},
        {"id": zid + "/CNAME/www", "name": "www", "type": "microsoft.network/privatednszones/cname",
         "properties": {"ttl": 10, "cnameRecord": {"cname": "sa1.privatelink.blob.core.windows.net"}}},
    ]
    page = {"totalRecords": 5, "count": 3, "resultTruncated": "false", "facets": [],
            "$skipToken": "cmc6Mw==", "data": rows}
    seeds["seed-dnsresources.json"] = jdump(page)
    seeds["seed-quota-duration.txt"] = b"00:00:05\n" + jdump(page)
    pe = fixture_json("tests", "fixtures", "arm", "network",
                      "PrivateEndpointListAll.json")["responses"]["200"]["body"]["value"]
    erows = []
    for p in pe:
        p = json.loads(json.dumps(p))
        p["properties"]["customDnsConfigs"][0]["fqdn"] = "acct.openai.azure.com"
        erows.append({"id": p["id"], "name": p["name"], "resourceGroup": p["id"].split("/")[4].lower(),
                      "subscriptionId": "subId", "properties": p["properties"]})
    seeds["seed-endpoints.json"] = jdump({"totalRecords": 3, "count": 3, "resultTruncated": "false",
                                          "facets": [], "data": erows})
    seeds["seed-zones.json"] = jdump({"totalRecords": 1, "count": 1, "resultTruncated": "false", "facets": [],
                                      "data": [{"id": zid, "name": "privatelink.blob.core.windows.net",
                                                "resourceGroup": "rg-a", "subscriptionId": SUB_A,
                                                "properties": {"numberOfRecordSets": 3}}]})
    seeds["seed-truncated.json"] = jdump({"totalRecords": 5, "count": 1, "resultTruncated": "true",
                                          "data": [{"id": zid}]})
    seeds["seed-table.json"] = jdump({"totalRecords": 1, "count": 1, "resultTruncated": "false",
                                      "data": {"columns": [{"name": "id", "type": "string"}],
                                               "rows": [["x"]]}})
    return seeds


TARGETS = {
    "arm_rg": arm_rg_seeds,
    "arm_pe": arm_pe_seeds,
    "query": lambda: {k + ".bin": v for k, v in QUERY_SEEDS.items()},
    "reply": reply_seeds,
    "config": config_seeds,
    "zone": zone_seeds,
    "arm_records": arm_records_seeds,
    "arm_zones": arm_zones_seeds,
    "token": token_seeds,
    "control": control_seeds,
    "http": http_seeds,
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
