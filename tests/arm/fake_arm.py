#!/usr/bin/env python3
"""fake_arm.py -- a loopback HTTPS stand-in for the parts of Azure that ARM
sync talks to: the Private DNS read API of Azure Resource Manager, the
private endpoint lists of the Network API, Azure Resource Graph's resources
query (POST /providers/Microsoft.ResourceGraph/resources: tables resources
and dnsresources, $skipToken paging in the body, the quota headers), the
IMDS managed-identity token endpoint and the Entra ID v2 token endpoint.

It replays the published formats (tests/fixtures/arm: REST examples and SDK
recordings) and generates large zones.  Tests steer it through a control
endpoint and read its request log.

  fake_arm.py --cert server.pem --key server.key --fixtures DIR \
              --port-file F --log F [--port N] [--dataset SPEC]...

Datasets (also loadable later with {"op": "dataset"}):
  examples:SUB:RG        zone privatezone1.com from the published examples
                         (every record type) and scenario_privatezone.com from
                         the Go SDK recording
  big:SUB:RG:ZONE:N      ZONE with N A record sets (plus its SOA)
  many:SUB:RG:Z:R        Z zones zone<i>.many.test with R A record sets each
  pe-examples:SUB        the private endpoints of the published ListAll example
                         (network/PrivateEndpointListAll.json: Approved and
                         Pending/manual connections, FQDNs no catalogue covers),
                         ids moved into SUB, everything else verbatim
  pe-many:SUB:RG:N[:FIRST]
                         N Approved endpoints pe<i> (i from FIRST, default 0),
                         each with the FQDN acct<i>.openai.azure.com

Control (POST /_control, JSON body; answers {"ok": true, ...}):
  {"op": "set", KEY: VALUE, ...}    settings, see SETTINGS below
  {"op": "dataset", "spec": SPEC}
  {"op": "add_zone", "sub", "rg", "zone", "a": {"name": "ip", ...}, "ttl": N}
  {"op": "set_a", "sub", "zone", "name", "ip", "ttl"}   add or replace an A set
  {"op": "delete_zone", "sub", "zone"}
  {"op": "delete_set", "sub", "zone", "name", "type"}   remove a record set (type: "A", ...)
  {"op": "add_pe", "sub", "rg", "name", "fqdns": {"fqdn": ["ip", ...]}, "status": "Approved",
                   "manual": false}   add or replace a private endpoint (the shape of the
                                      published example, its connection in
                                      privateLinkServiceConnections or, manual,
                                      manualPrivateLinkServiceConnections)
  {"op": "set_pe_status", "sub", "name", "status"}
  {"op": "delete_pe", "sub", "name"}
  {"op": "fail", "match": SUBSTRING, "count": N (-1 = forever), "status": CODE,
                 "retry_after": S, "malformed": true, "truncate": true, "hang": S, "delay": S,
                 "code": "...", "message": "..."}
        (hang: wait S seconds, then drop the connection; delay: wait S
        seconds, then answer normally; malformed: a complete answer whose
        JSON stops half-way; truncate: a Content-Length twice the body
        sent, then the connection is closed)
  {"op": "clear_faults"}   {"op": "revoke_tokens"}
GET /_state: counters, settings, the assertion/secret digests seen.

Request log (JSON lines, one per request): t0 (arrival) and t (answer),
unix time as floats, kind
(arm|imds|token|control), method, path, status, auth (first 16 hex digits of
the SHA-256 of the Authorization header, never the header).
"""

import argparse
import base64
import copy
import hashlib
import json
import os
import socket
import ssl
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

SETTINGS = {
    "zone_page": 100,             # max zones per page
    "record_page": 1000,          # max record sets per page (and $top)
    "trailing_empty_page": False,  # end listings with an extra {"value": []} page
    "token_lifetime": 3599,
    "v2_strings": False,          # v2 token endpoint sends numbers as strings
    "expires_on_only": False,     # omit expires_in, send expires_on
    "expires_on_date": False,     # expires_on as a date string
    "imds_client_id": None,       # if set, IMDS requires this client_id
    "tenant": None,               # v2: expected tenant in the path
    "client_id": None,            # v2: expected client_id
    "secret": None,               # v2: expected client_secret
    "assertion": None,            # v2: expected client_assertion
    "assertion_file": None,       # v2: expected client_assertion = this file's content
    "gen_epoch": 0,               # shifts every synthetic address: all such zones change
    "pe_page": 100,               # max private endpoints per page (Network lists: no $top)
    "rg_page": 1000,              # max Resource Graph rows per page (and options.$top)
    "rg_quota": 15,               # Resource Graph queries per window (x-ms-user-quota-remaining)
    "rg_quota_window": 5,         # ... seconds (x-ms-user-quota-resets-after)
    "rg_lag": {},                 # zone name -> record sets dnsresources leaves out (Resource
                                  # Graph lagging ARM)
    "mg": {},                     # management group -> [subscriptions]; unknown: every one
}

LOCK = threading.RLock()
STATE = {
    "subs": {},        # sub (lower) -> {zone (lower): {"rg", "name", "sets": [...]}}
    "pes": {},         # sub (lower) -> {name (lower): private endpoint JSON}
    "tokens": {},      # token -> expiry (unix)
    "faults": [],
    "counters": {"token_requests": 0, "arm_requests": 0, "tokens_issued": 0, "rg_queries": 0,
                 "rg_throttled": 0},
    "rg_window": [0.0, 0],  # start of the current quota window, queries in it
    "assertions": [],  # digests of the client assertions received, in order
}
LOG = None
FIXTURES = None
API = "2024-06-01"


def log_request(kind, method, path, status, auth, t0=None):
    rec = {
        "t": time.time(),
        "t0": t0 if t0 is not None else time.time(),
        "kind": kind,
        "method": method,
        "path": path,
        "status": status,
        "auth": hashlib.sha256(auth.encode()).hexdigest()[:16] if auth else "",
    }
    with LOCK:
        LOG.write(json.dumps(rec) + "\n")
        LOG.flush()


# ------------------------------------------------------------ data

def zone_id(sub, rg, zone):
    return ("/subscriptions/%s/resourceGroups/%s/providers/Microsoft.Network/privateDnsZones/%s"
            % (sub, rg, zone))


def make_set(sub, rg, zone, rtype, name, ttl, payload_key, payload):
    fqdn = (zone + ".") if name == "@" else "%s.%s." % (name, zone)
    return {
        "id": "%s/%s/%s" % (zone_id(sub, rg, zone), rtype, name),
        "name": name,
        "type": "Microsoft.Network/privateDnsZones/" + rtype,
        "etag": "00000000-0000-0000-0000-000000000000",
        "properties": {"fqdn": fqdn, "ttl": ttl, payload_key: payload,
                       "isAutoRegistered": False},
    }


def soa_set(sub, rg, zone):
    # The values of the real SOA in the Go SDK recording.
    return make_set(sub, rg, zone, "SOA", "@", 3600, "soaRecord", {
        "email": "azureprivatedns-host.microsoft.com", "expireTime": 2419200,
        "host": "azureprivatedns.net", "minimumTtl": 10, "refreshTime": 3600,
        "retryTime": 300, "serialNumber": 1})


def a_set(sub, rg, zone, name, ip, ttl=3600):
    return make_set(sub, rg, zone, "A", name, ttl, "aRecords", [{"ipv4Address": ip}])


def put_zone(sub, rg, zone, sets):
    with LOCK:
        STATE["subs"].setdefault(sub.lower(), {})[zone.lower()] = {
            "rg": rg, "name": zone, "sets": sets, "sub": sub}


def put_gen_zone(sub, rg, zone, n, base):
    """A synthetic zone: its SOA and n - 1 A record sets, made per page on
    demand so that a million record sets cost no memory here."""
    with LOCK:
        STATE["subs"].setdefault(sub.lower(), {})[zone.lower()] = {
            "rg": rg, "name": zone, "gen": (n, base), "sub": sub}


def zone_count(z):
    return len(z["sets"]) if "sets" in z else z["gen"][0]


def zone_slice(z, off, n):
    if "sets" in z:
        return z["sets"][off:off + n]
    total, base = z["gen"]
    out = []
    for i in range(off, min(off + n, total)):
        if i == 0:
            out.append(soa_set(z["sub"], z["rg"], z["name"]))
        else:
            out.append(a_set(z["sub"], z["rg"], z["name"], "host%d" % (i - 1),
                             ip_for(base + i + SETTINGS["gen_epoch"]), 300))
    return out


def zone_sets(z):
    """Materialise a synthetic zone (before changing it)."""
    if "sets" not in z:
        z["sets"] = zone_slice(z, 0, z["gen"][0])
        del z["gen"]
    return z["sets"]


def fixture(rel):
    with open(os.path.join(FIXTURES, rel)) as f:
        return json.load(f)


def retarget(rs, sub, rg, zone):
    """A fixture record set moved into our zone (ids rewritten)."""
    rs = copy.deepcopy(rs)
    rtype = rs["type"].split("/")[-1]
    rs["id"] = "%s/%s/%s" % (zone_id(sub, rg, zone), rtype, rs["name"])
    return rs


def load_examples(sub, rg):
    zone = "privatezone1.com"
    sets = []
    for t in ("SOA", "A", "AAAA", "CNAME", "MX", "PTR", "SRV", "TXT"):
        body = fixture("examples/RecordSet%sList.json" % t)["responses"]["200"]["body"]
        for rs in body["value"]:
            sets.append(retarget(rs, sub, rg, zone))
    put_zone(sub, rg, zone, sets)
    rec = fixture("recordings/TestPrivatednsTestSuite.json")
    for e in rec["Entries"]:
        if e["RequestMethod"] == "GET" and "/ALL?" in e["RequestUri"]:
            sets = [retarget(rs, sub, rg, "scenario_privatezone.com")
                    for rs in e["ResponseBody"]["value"]]
            put_zone(sub, rg, "scenario_privatezone.com", sets)
            break


def ip_for(i):
    return "10.%d.%d.%d" % ((i >> 16) & 255, (i >> 8) & 255, (i & 255) or 1)


def pe_id(sub, rg, name):
    return "/subscriptions/%s/resourceGroups/%s/providers/Microsoft.Network/privateEndpoints/%s" % (sub, rg, name)


def put_pe(sub, pe):
    with LOCK:
        STATE["subs"].setdefault(sub.lower(), {})
        STATE["pes"].setdefault(sub.lower(), {})[pe["name"].lower()] = pe


def load_pe_examples(sub):
    body = fixture("network/PrivateEndpointListAll.json")["responses"]["200"]["body"]
    for pe in body["value"]:
        pe = json.loads(json.dumps(pe).replace("/subscriptions/subId/", "/subscriptions/%s/" % sub))
        put_pe(sub, pe)


def make_pe(sub, rg, name, fqdns, status="Approved", manual=False):
    """A private endpoint in the shape of the published ListAll example."""
    tmpl = fixture("network/PrivateEndpointListAll.json")["responses"]["200"]["body"]["value"][
        1 if manual else 0]
    pe = copy.deepcopy(tmpl)
    pe["id"] = pe_id(sub, rg, name)
    pe["name"] = name
    props = pe["properties"]
    conns = props["manualPrivateLinkServiceConnections" if manual else "privateLinkServiceConnections"]
    conns[0]["id"] = "%s/%sprivateLinkServiceConnections/%s-conn" % (pe["id"], "manual" if manual else "", name)
    st = conns[0]["properties"]["privateLinkServiceConnectionState"]
    st["status"] = status
    st["description"] = {"Approved": "Auto-approved", "Pending": "Awaiting approval"}.get(status, status)
    props["customDnsConfigs"] = [{"fqdn": f, "ipAddresses": list(ips)} for f, ips in fqdns.items()]
    return pe


def load_dataset(spec):
    parts = spec.split(":")
    kind = parts[0]
    if kind == "pe-examples":
        load_pe_examples(parts[1])
    elif kind == "pe-many":
        sub, rg, n = parts[1], parts[2], int(parts[3])
        first = int(parts[4]) if len(parts) > 4 else 0
        tmpl = make_pe(sub, rg, "pe", {})
        for i in range(first, first + n):
            # the template's shape, copied cheaply: 5,000 deep copies of the
            # fixture cost more than the benchmark measures
            pe = json.loads(json.dumps(tmpl))
            pe["id"] = pe_id(sub, rg, "pe%d" % i)
            pe["name"] = "pe%d" % i
            pe["properties"]["customDnsConfigs"] = [{"fqdn": "acct%d.openai.azure.com" % i,
                                                     "ipAddresses": [ip_for(i + 1)]}]
            put_pe(sub, pe)
    elif kind == "examples":
        load_examples(parts[1], parts[2])
    elif kind == "big":
        sub, rg, zone, n = parts[1], parts[2], parts[3], int(parts[4])
        put_gen_zone(sub, rg, zone, n, 0)
    elif kind == "many":
        sub, rg, nz, nr = parts[1], parts[2], int(parts[3]), int(parts[4])
        for z in range(nz):
            put_gen_zone(sub, rg, "zone%d.many.test" % z, nr, z * nr)
    else:
        raise ValueError("unknown dataset " + spec)


# ------------------------------------------------------------ faults

def take_fault(path):
    with LOCK:
        for f in STATE["faults"]:
            if f.get("match", "").lower() in path.lower():
                if f.get("count", 1) == 0:
                    continue
                if f.get("count", 1) > 0:
                    f["count"] = f.get("count", 1) - 1
                return dict(f)
    return None


# ------------------------------------------------------------ handler

class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "fake-arm/1"

    def setup(self):
        super().setup()
        # Headers and body go out in separate writes: without this, Nagle
        # and the client's delayed ACK add 40 ms to every response.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, fmt, *args):  # quiet; we keep our own log
        pass

    def send_json(self, status, obj, kind, extra=None, raw=None):
        body = raw if raw is not None else json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)
        log_request(kind, self.command, self.path, status, self.headers.get("Authorization"), self.t0)

    def arm_error(self, status, code, message, kind="arm", extra=None):
        self.send_json(status, {"error": {"code": code, "message": message}}, kind, extra)

    def read_body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def apply_fault(self, kind):
        f = take_fault(self.path)
        if f is None:
            return False
        if f.get("delay"):
            time.sleep(f["delay"])  # then answer normally
            return False
        if f.get("hang"):
            time.sleep(f["hang"])
            log_request(kind, self.command, self.path, 0, self.headers.get("Authorization"), self.t0)
            self.close_connection = True
            return True
        extra = {}
        if f.get("retry_after") is not None:
            extra["Retry-After"] = str(f["retry_after"])
        if f.get("truncate"):
            body = b'{"value": [{"id": "/subscriptions/x", "name": "cut"'
            self.send_response(200)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(2 * len(body)))
            self.end_headers()
            self.wfile.write(body)
            self.wfile.flush()
            log_request(kind, self.command, self.path, 200, self.headers.get("Authorization"), self.t0)
            self.close_connection = True
            return True
        if f.get("malformed"):
            self.send_json(200, None, kind, raw=b'{"value": [{"id": "/subscriptions/x", "name": ')
            return True
        status = f.get("status", 500)
        code = f.get("code") or {429: "SubscriptionRequestsThrottled", 401: "ExpiredAuthenticationToken",
                                 403: "AuthorizationFailed", 404: "ResourceNotFound"}.get(
                                     status, "InternalServerError")
        msg = f.get("message") or {
            429: "Number of 'read' requests for subscription exceeded. Please try again after '%s' seconds."
                 % f.get("retry_after", 10),
            401: "The access token expiry UTC time is earlier than current UTC time.",
            403: "The client does not have authorization to perform action "
                 "'Microsoft.Network/privateDnsZones/read' over scope '%s'." % self.path.split("?")[0],
        }.get(status, "The server encountered an internal error.")
        self.arm_error(status, code, msg, kind, extra)
        return True

    # -------------------------------------------------- routing
    def do_GET(self):
        self.t0 = time.time()
        self.route("GET", b"")

    def do_POST(self):
        self.t0 = time.time()
        self.route("POST", self.read_body())

    def route(self, method, body):
        url = urllib.parse.urlsplit(self.path)
        path = url.path
        query = urllib.parse.parse_qs(url.query, keep_blank_values=True)
        low = path.lower()
        if low == "/_control" and method == "POST":
            return self.control(body)
        if low == "/_state":
            with LOCK:
                st = {"settings": SETTINGS, "counters": STATE["counters"],
                      "assertions": STATE["assertions"],
                      "zones": {s: sorted(z) for s, z in STATE["subs"].items()}}
            return self.send_json(200, st, "control")
        if low == "/metadata/identity/oauth2/token" and method == "GET":
            return self.imds(query)
        if low.endswith("/oauth2/v2.0/token") and method == "POST":
            return self.entra(path, body)
        if low.startswith("/subscriptions/") and method == "GET":
            return self.arm(path, query)
        if low == "/providers/microsoft.resourcegraph/resources" and method == "POST":
            return self.resource_graph(query, body)
        self.arm_error(404, "NotFound", "no such endpoint", "arm")

    def control(self, body):
        try:
            req = json.loads(body or b"{}")
            op = req.get("op")
            with LOCK:
                if op == "set":
                    for k, v in req.items():
                        if k != "op":
                            if k not in SETTINGS:
                                raise ValueError("unknown setting " + k)
                            SETTINGS[k] = v
                elif op == "dataset":
                    load_dataset(req["spec"])
                elif op == "add_zone":
                    sub, rg, zone = req["sub"], req["rg"], req["zone"]
                    sets = [soa_set(sub, rg, zone)]
                    sets += [a_set(sub, rg, zone, n, ip, req.get("ttl", 300))
                             for n, ip in req.get("a", {}).items()]
                    put_zone(sub, rg, zone, sets)
                elif op == "set_a":
                    z = STATE["subs"][req["sub"].lower()][req["zone"].lower()]
                    z["sets"] = [s for s in zone_sets(z) if not (
                        s["name"] == req["name"] and s["type"].endswith("/A"))]
                    z["sets"].append(a_set(z["sub"], z["rg"], z["name"], req["name"], req["ip"],
                                           req.get("ttl", 300)))
                elif op == "delete_zone":
                    del STATE["subs"][req["sub"].lower()][req["zone"].lower()]
                elif op == "delete_set":
                    z = STATE["subs"][req["sub"].lower()][req["zone"].lower()]
                    z["sets"] = [s for s in zone_sets(z) if not (
                        s["name"] == req["name"] and s["type"].endswith("/" + req["type"]))]
                elif op == "add_pe":
                    put_pe(req["sub"], make_pe(req["sub"], req["rg"], req["name"], req.get("fqdns", {}),
                                               req.get("status", "Approved"), req.get("manual", False)))
                elif op == "set_pe_status":
                    pe = STATE["pes"][req["sub"].lower()][req["name"].lower()]
                    props = pe["properties"]
                    for key in ("privateLinkServiceConnections", "manualPrivateLinkServiceConnections"):
                        for c in props.get(key) or []:
                            c["properties"]["privateLinkServiceConnectionState"]["status"] = req["status"]
                elif op == "delete_pe":
                    del STATE["pes"][req["sub"].lower()][req["name"].lower()]
                elif op == "fail":
                    STATE["faults"].append({k: v for k, v in req.items() if k != "op"})
                elif op == "clear_faults":
                    STATE["faults"] = []
                elif op == "revoke_tokens":
                    STATE["tokens"] = {}
                else:
                    raise ValueError("unknown op %r" % op)
            self.send_json(200, {"ok": True}, "control")
        except (ValueError, KeyError, TypeError) as e:
            self.send_json(400, {"ok": False, "error": str(e)}, "control")

    # -------------------------------------------------- tokens
    def issue(self):
        tok = "tok-" + base64.urlsafe_b64encode(os.urandom(24)).decode().rstrip("=")
        life = int(SETTINGS["token_lifetime"])
        with LOCK:
            STATE["tokens"][tok] = time.time() + life
            STATE["counters"]["tokens_issued"] += 1
        return tok, life

    def imds(self, query):
        with LOCK:
            STATE["counters"]["token_requests"] += 1
        if self.apply_fault("imds"):
            return
        if self.headers.get("Metadata") != "true":
            return self.send_json(400, {"error": "invalid_request",
                                        "error_description": "Required metadata header not specified"},
                                  "imds")
        if query.get("resource", [""])[0].rstrip("/") == "":
            return self.send_json(400, {"error": "invalid_resource",
                                        "error_description": "AADSTS50001: resource is missing"}, "imds")
        want = SETTINGS["imds_client_id"]
        got = query.get("client_id", [None])[0]
        if want is not None and got != want:
            return self.send_json(400, {"error": "invalid_request",
                                        "error_description": "Identity not found"}, "imds")
        tok, life = self.issue()
        now = int(time.time())
        # IMDS sends every number as a string (documented sample, real capture).
        self.send_json(200, {"access_token": tok, "client_id": got or "system",
                             "expires_in": str(life), "expires_on": str(now + life),
                             "ext_expires_in": str(life), "not_before": str(now),
                             "resource": query["resource"][0], "token_type": "Bearer"}, "imds")

    def entra(self, path, body):
        with LOCK:
            STATE["counters"]["token_requests"] += 1
        if self.apply_fault("token"):
            return
        if "//" in path:
            return self.send_json(400, {"error": "invalid_request",
                                        "error_description": "AADSTS900023: Specified tenant identifier is "
                                        "neither a valid DNS name, nor a valid external domain."}, "token")
        tenant = path.strip("/").split("/")[0]
        form = urllib.parse.parse_qs(body.decode(), keep_blank_values=True)
        f = {k: v[0] for k, v in form.items()}
        if self.headers.get("Content-Type", "").split(";")[0] != "application/x-www-form-urlencoded":
            return self.send_json(400, {"error": "invalid_request",
                                        "error_description": "AADSTS900144: bad content type"}, "token")
        if SETTINGS["tenant"] and tenant != SETTINGS["tenant"]:
            return self.send_json(400, {"error": "invalid_tenant",
                                        "error_description": "AADSTS90002: Tenant '%s' not found." % tenant},
                                  "token")
        if f.get("grant_type") != "client_credentials" or not f.get("scope", "").endswith("/.default"):
            return self.send_json(400, {"error": "invalid_scope",
                                        "error_description": "AADSTS70011: The provided value for the "
                                        "input parameter 'scope' is not valid."}, "token")
        if SETTINGS["client_id"] and f.get("client_id") != SETTINGS["client_id"]:
            return self.send_json(400, {"error": "unauthorized_client",
                                        "error_description": "AADSTS700016: Application not found."}, "token")
        if "client_secret" in f:
            if SETTINGS["secret"] is None or f["client_secret"] != SETTINGS["secret"]:
                return self.send_json(401, {"error": "invalid_client",
                                            "error_description": "AADSTS7000215: Invalid client secret "
                                            "provided."}, "token")
        elif "client_assertion" in f:
            want = SETTINGS["assertion"]
            if SETTINGS["assertion_file"]:
                with open(SETTINGS["assertion_file"]) as af:
                    want = af.read().strip()
            with LOCK:
                STATE["assertions"].append(hashlib.sha256(f["client_assertion"].encode()).hexdigest()[:16])
            if (f.get("client_assertion_type") != "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
                    or want is None or f["client_assertion"] != want):
                return self.send_json(400, {"error": "invalid_request",
                                            "error_description": "AADSTS70021: No matching federated "
                                            "identity record found for presented assertion."}, "token")
        else:
            return self.send_json(400, {"error": "invalid_request",
                                        "error_description": "AADSTS7000218: The request body must contain "
                                        "client_assertion or client_secret."}, "token")
        tok, life = self.issue()
        resp = {"token_type": "Bearer", "access_token": tok}
        now = int(time.time())
        if SETTINGS["expires_on_only"]:
            if SETTINGS["expires_on_date"]:
                resp["expires_on"] = time.strftime("%m/%d/%Y %I:%M:%S %p +00:00", time.gmtime(now + life))
            else:
                resp["expires_on"] = str(now + life) if SETTINGS["v2_strings"] else now + life
        else:
            resp["expires_in"] = str(life) if SETTINGS["v2_strings"] else life
            resp["ext_expires_in"] = resp["expires_in"]
        self.send_json(200, resp, "token")

    # -------------------------------------------------- Resource Graph
    def resource_graph(self, query, body):
        """POST /providers/Microsoft.ResourceGraph/resources: the shape of the
        published examples (ResourcesFirstPageQuery / NextPageQuery): totalRecords,
        count, resultTruncated "false", facets, $skipToken, data (objectArray).
        Every answer carries the quota headers; a query past the quota gets 429
        with the (unofficial) RateLimiting body and Retry-After."""
        import re
        with LOCK:
            STATE["counters"]["arm_requests"] += 1
        if self.apply_fault("arm"):
            return
        if not self.check_token():
            return
        if "api-version" not in query:
            return self.arm_error(400, "MissingApiVersionParameter", "The api-version query parameter "
                                  "(?api-version=) is required for all requests.")
        now = time.time()
        window = float(SETTINGS["rg_quota_window"])
        quota = int(SETTINGS["rg_quota"])
        with LOCK:
            win = STATE["rg_window"]
            if now - win[0] >= window:
                win[0], win[1] = now, 0
            over = win[1] >= quota
            if over:
                STATE["counters"]["rg_throttled"] += 1
            else:
                win[1] += 1
                STATE["counters"]["rg_queries"] += 1
            left = max(0, quota - win[1])
            resets = max(0.0, win[0] + window - now)
        secs = int(resets + 0.999)
        hdrs = {"x-ms-user-quota-remaining": str(left),
                "x-ms-user-quota-resets-after": "%02d:%02d:%02d" % (secs // 3600, secs // 60 % 60, secs % 60)}
        if over:
            hdrs["Retry-After"] = str(max(secs, 1))
            return self.send_json(429, {"error": {
                "code": "RateLimiting",
                "message": "Please provide below info when asking for support: timestamp = %s, correlationId = "
                           "00000000-0000-0000-0000-000000000000." % time.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "details": [{"code": "RateLimiting",
                             "message": "Client application has been throttled and should not attempt to repeat "
                                        "the request until an amount of time has elapsed. Please see "
                                        "https://aka.ms/resourcegraph-throttling for help."}]}}, "rg", hdrs)
        try:
            req = json.loads(body or b"{}")
            q = req["query"]
        except (ValueError, KeyError, TypeError):
            return self.arm_error(400, "BadRequest", "Please provide a query.", extra=hdrs)
        ql = q.lower()
        if "dnsresources" in ql:
            table = "dnsresources"
        elif "microsoft.network/privatednszones'" in ql:
            table = "privatednszones"
        elif "microsoft.network/privateendpoints'" in ql:
            table = "privateendpoints"
        else:
            return self.arm_error(400, "InvalidQuery", "Query is invalid for the fake server.", extra=hdrs)
        if "| project id" not in ql:
            return self.arm_error(400, "InvalidQuery", "the fake server wants id projected", extra=hdrs)
        with LOCK:
            all_subs = sorted(STATE["subs"])
        if req.get("subscriptions"):
            subs = [x.lower() for x in req["subscriptions"] if x.lower() in all_subs]
        elif req.get("managementGroups"):
            subs = []
            for mg in req["managementGroups"]:
                subs += [x.lower() for x in SETTINGS["mg"].get(mg, all_subs)]
            subs = sorted(set(x for x in subs if x in all_subs))
        else:
            subs = all_subs
        m = re.search(r"resourcegroup in~ \(([^)]*)\)", ql)
        rgs = [x.strip().strip("'") for x in m.group(1).split(",")] if m else None
        rows = rg_rows(table, subs, rgs)
        opts = req.get("options") or {}
        n = min(int(opts.get("$top") or 100), int(SETTINGS["rg_page"]))
        tok = opts.get("$skipToken")
        off = int(base64.b64decode(tok).decode().split(":")[1]) if tok else int(opts.get("$skip") or 0)
        out = {"totalRecords": len(rows), "count": len(rows[off:off + n]), "resultTruncated": "false",
               "facets": []}
        if off + n < len(rows):
            out["$skipToken"] = base64.b64encode(("rg:%d" % (off + n)).encode()).decode()
        out["data"] = rows[off:off + n]
        self.send_json(200, out, "rg", hdrs)

    # -------------------------------------------------- ARM
    def check_token(self):
        auth = self.headers.get("Authorization") or ""
        if not auth.startswith("Bearer "):
            self.arm_error(401, "AuthenticationFailed", "Authentication failed. The 'Authorization' "
                           "header is missing.")
            return False
        with LOCK:
            exp = STATE["tokens"].get(auth[7:])
        if exp is None or exp < time.time():
            self.arm_error(401, "ExpiredAuthenticationToken", "The access token expiry UTC time is "
                           "earlier than current UTC time.")
            return False
        return True

    def page(self, items, query, base_path, limit):
        if isinstance(items, list):
            return self.page_of(len(items), lambda off, n: items[off:off + n], query, base_path, limit)
        return self.page_of(zone_count(items), lambda off, n: zone_slice(items, off, n), query,
                            base_path, limit)

    def page_of(self, total, slicer, query, base_path, limit):
        top = query.get("$top", [None])[0]
        n = limit
        if top is not None:
            n = max(1, min(int(top), limit))
        skip = query.get("$skipToken", [None])[0]
        off = int(base64.b64decode(skip).decode().split(":")[1]) if skip else 0
        out = {"value": slicer(off, n)}
        more = off + n < total or (SETTINGS["trailing_empty_page"] and off < total)
        if more:
            tok = base64.b64encode(("offset:%d" % (off + n)).encode()).decode()
            # Real nextLinks: absolute, explicit port, $ unescaped, $top carried.
            host = self.headers.get("Host")
            q = "api-version=%s" % query.get("api-version", [API])[0]
            if top is not None:
                q += "&$top=%s" % top
            out["nextLink"] = "https://%s%s?%s&$skipToken=%s" % (host, base_path, q, tok)
        return out

    def zone_json(self, z):
        return {"id": zone_id(z["sub"], z["rg"], z["name"]), "name": z["name"],
                "type": "Microsoft.Network/privateDnsZones",
                "etag": "00000000-0000-0000-0000-000000000000", "location": "global",
                "properties": {"maxNumberOfRecordSets": 25000, "numberOfRecordSets": zone_count(z),
                               "maxNumberOfVirtualNetworkLinks": 1000,
                               "maxNumberOfVirtualNetworkLinksWithRegistration": 100,
                               "numberOfVirtualNetworkLinks": 0,
                               "numberOfVirtualNetworkLinksWithRegistration": 0,
                               "provisioningState": "Succeeded"}}

    def arm(self, path, query):
        with LOCK:
            STATE["counters"]["arm_requests"] += 1
        if self.apply_fault("arm"):
            return
        if not self.check_token():
            return
        if "api-version" not in query:
            return self.arm_error(400, "MissingApiVersionParameter",
                                  "The api-version query parameter (?api-version=) is required for all "
                                  "requests.")
        seg = path.strip("/").split("/")
        low = [s.lower() for s in seg]
        sub = low[1]
        with LOCK:
            zones = STATE["subs"].get(sub)
            zones = dict(zones) if zones is not None else None
        if zones is None:
            return self.arm_error(404, "SubscriptionNotFound", "The subscription '%s' could not be found."
                                  % seg[1])
        with LOCK:
            pes = sorted(STATE["pes"].get(sub, {}).values(), key=lambda p: p["id"].lower())
        # /subscriptions/S/providers/Microsoft.Network/privateEndpoints
        if low[2:] == ["providers", "microsoft.network", "privateendpoints"]:
            return self.send_json(200, self.page(pes, query, path, SETTINGS["pe_page"]), "arm")
        if len(low) == 7 and low[2] == "resourcegroups" and low[4:7] == [
                "providers", "microsoft.network", "privateendpoints"]:
            items = [p for p in pes if p["id"].lower().split("/")[4] == low[3]]
            return self.send_json(200, self.page(items, query, path, SETTINGS["pe_page"]), "arm")
        # /subscriptions/S/providers/Microsoft.Network/privateDnsZones
        if low[2:] == ["providers", "microsoft.network", "privatednszones"]:
            items = [self.zone_json(z) for _, z in sorted(zones.items())]
            base = "/subscriptions/%s/providers/Microsoft.Network/privatednszones" % seg[1]
            return self.send_json(200, self.page(items, query, base, SETTINGS["zone_page"]), "arm")
        if len(low) >= 7 and low[2] == "resourcegroups" and low[4:7] == [
                "providers", "microsoft.network", "privatednszones"]:
            rg = low[3]
            if len(low) == 7:
                items = [self.zone_json(z) for _, z in sorted(zones.items()) if z["rg"].lower() == rg]
                if not items and not any(z["rg"].lower() == rg for z in zones.values()):
                    return self.arm_error(404, "ResourceGroupNotFound",
                                          "Resource group '%s' could not be found." % seg[3])
                return self.send_json(200, self.page(items, query, path, SETTINGS["zone_page"]), "arm")
            if len(low) == 9 and low[8] == "all":
                z = zones.get(low[7])
                if z is None or z["rg"].lower() != rg:
                    # Verbatim shape of the recorded gateway 404.
                    return self.arm_error(404, "ResourceNotFound",
                                          "The Resource 'Microsoft.Network/privateDnsZones/%s' under "
                                          "resource group '%s' was not found." % (seg[7], seg[3]),
                                          extra={"x-ms-failure-cause": "gateway"})
                return self.send_json(200, self.page(z, query, path, SETTINGS["record_page"]), "arm")
        self.arm_error(404, "NotFound", "no such ARM path in the fake server")


def rg_rows(table, subs, rgs):
    """The rows of a Resource Graph query, sorted by id (stable paging)."""
    rows = []
    with LOCK:
        for sub in subs:
            zones = dict(STATE["subs"].get(sub, {}))
            pes = list(STATE["pes"].get(sub, {}).values())
            if table == "privatednszones":
                for _, z in sorted(zones.items()):
                    zj = Handler.zone_json(None, z)
                    rows.append({"id": zj["id"], "name": zj["name"], "type": "microsoft.network/privatednszones",
                                 "resourceGroup": z["rg"].lower(), "subscriptionId": z["sub"],
                                 "properties": zj["properties"]})
            elif table == "privateendpoints":
                for pe in pes:
                    rows.append({"id": pe["id"], "name": pe["name"], "type": "microsoft.network/privateendpoints",
                                 "resourceGroup": pe["id"].split("/")[4].lower(), "subscriptionId": sub,
                                 "properties": pe["properties"]})
            else:
                for _, z in sorted(zones.items()):
                    sets = zone_slice(z, 0, zone_count(z))
                    drop = int(SETTINGS["rg_lag"].get(z["name"].lower(), 0))
                    if drop:
                        sets = sets[:max(0, len(sets) - drop)]
                    for rs in sets:
                        rows.append({"id": rs["id"], "name": rs["name"], "type": rs["type"].lower(),
                                     "properties": rs["properties"]})
    if rgs is not None:
        rows = [r for r in rows if r["id"].split("/")[4].lower() in rgs]
    rows.sort(key=lambda r: r["id"].lower())
    return rows


def main():
    global LOG, FIXTURES
    ap = argparse.ArgumentParser()
    ap.add_argument("--cert", required=True)
    ap.add_argument("--key", required=True)
    ap.add_argument("--fixtures", required=True)
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--log", required=True)
    ap.add_argument("--dataset", action="append", default=[])
    ap.add_argument("--set", action="append", default=[], help="KEY=JSON setting")
    a = ap.parse_args()
    FIXTURES = a.fixtures
    LOG = open(a.log, "a")
    for kv in a.set:
        k, v = kv.split("=", 1)
        SETTINGS[k] = json.loads(v)
    for spec in a.dataset:
        load_dataset(spec)
    srv = ThreadingHTTPServer(("127.0.0.1", a.port), Handler)
    srv.daemon_threads = True
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(a.cert, a.key)
    # Handshake in the handler thread, so a client that connects and stalls
    # cannot block the accept loop.
    srv.socket = ctx.wrap_socket(srv.socket, server_side=True, do_handshake_on_connect=False)
    tmp = a.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % srv.server_address[1])
    os.rename(tmp, a.port_file)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
