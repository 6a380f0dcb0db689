# t_status_page.sh -- the status page of http-listen: a daemon with a zone
# file, two zones synced from the test ARM server (one whose listing always
# fails), an upstream group on a real NSD and a bearer token.  /status.json
# is checked with curl against `plinkfwd-ctl status --json` (one builder:
# the same values) and its rate history against the totals; then headless
# Chromium loads the page the way an admin does (/#token=...), and the
# rendered DOM must show every zone, every upstream server and the numbers
# of `plinkfwd-ctl status --json`.  A screenshot is saved ($T/status-page.png;
# PLINKFWD_SCREENSHOT=FILE copies it there, as docs/status-page.png was made).
#
# Chromium runs inside this test's private network namespace, like every
# server here: it can reach nothing but loopback.  Without Chromium (Debian
# package chromium) the browser points are skipped with that reason; the
# curl points still run.
. "$(dirname "$0")/lib.sh"
. "$SRCDIR/tests/arm/lib_arm.sh"

HPORT=$((PORT + 1000))
URL=http://127.0.0.1:$HPORT
SOCK=$T/run/control.sock
UPSTREAM=127.0.0.2@5301
TOKEN=status-$$-$RANDOM$RANDOM
mkdir -p "$T/run"
printf '%s\n' "$TOKEN" >"$T/token"

cat >"$T/lab.test.zone" <<'EOF'
$ORIGIN lab.test.
$TTL 300
@       IN SOA  ns.lab.test. hostmaster.lab.test. 7 3600 600 86400 60
@       IN NS   ns
ns      IN A    192.0.2.53
www     IN A    192.0.2.80
EOF
ok "NSD upstream starts" start_nsd "$UPSTREAM" lab.test="$T/lab.test.zone"

ok "fake ARM server starts" arm_start_fake
ok "ARM zone privatelink.blob.core.windows.net" arm_ctl '{"op":"add_zone","sub":"'$ARM_SUB'","rg":"rg-net","zone":"privatelink.blob.core.windows.net","a":{"mystorage":"10.1.2.3","backup":"10.1.2.4"},"ttl":300}'
ok "ARM zone privatelink.vaultcore.azure.net" arm_ctl '{"op":"add_zone","sub":"'$ARM_SUB'","rg":"rg-net","zone":"privatelink.vaultcore.azure.net","a":{"kv1":"10.2.0.44"}}'
ok "its listing always fails (403)" arm_ctl '{"op":"fail","match":"vaultcore.azure.net/ALL","status":403,"count":-1}'

arm_conf "$T/status.conf" "interval: 3600" "max-retries: 0" \
	"@http-listen: 127.0.0.1@$HPORT" "@http-token-file: $T/token" "@control-socket: $SOCK" \
	"@upstream-timeout: 1000" "@workers: 2"
cat >>"$T/status.conf" <<EOF
upstream: lab
    server: $UPSTREAM
upstream: spare
    server: 127.0.0.9@5309
    max-qps: 50
    max-outstanding: 10
forward: lab.test
    to: lab
zone: privatelink.openai.azure.com
    file: $SRCDIR/zones/privatelink.openai.azure.com.zone
EOF
mark=$(log_mark)
ok "plinkfwd starts" start_plinkfwd "$T/status.conf"
ok "first ARM sync ends" arm_wait_sync "$mark"

# traffic with several rcodes, a forwarded answer and a cache hit
for i in 1 2 3 4 5; do q contoso-foundry.privatelink.openai.azure.com A; done
q nothere.privatelink.openai.azure.com A
q mystorage.privatelink.blob.core.windows.net A
q www.lab.test A
q www.lab.test A
is "$Q_STATUS" NOERROR "forwarded name answered (then from the cache)"
q www.example.com A   # the default group has no server: REFUSED

# ------------------------------------------------------------ curl: token, /status.json
code=$(curl -sS -o /dev/null -w '%{http_code}' --max-time "$WAIT_FLOOR" "$URL/status.json")
is "$code" 401 "/status.json without the token: 401"
code=$(curl -sS -o /dev/null -w '%{http_code}' --max-time "$WAIT_FLOOR" -H "Authorization: Bearer $TOKEN" "$URL/status.json")
is "$code" 200 "/status.json with the token: 200"
code=$(curl -sS -o /dev/null -w '%{http_code}' --max-time "$WAIT_FLOOR" -H "Authorization: Bearer $TOKEN" "$URL/")
is "$code" 200 "/ with the token: 200"

curl -sS --max-time "$WAIT_FLOOR" -H "Authorization: Bearer $TOKEN" -o "$T/status.json" "$URL/status.json"
"$CTL" -s "$SOCK" status --json >"$T/ctl.json" 2>"$T/ctl.err"
is "$?" 0 "plinkfwd-ctl status --json answers"

# Everything ctl status says, /status.json says the same (no query ran in
# between); only what moves with the clock is left out.
cat >"$T/compare.py" <<'EOF'
import json, sys
web = json.load(open(sys.argv[1]))
ctl = json.load(open(sys.argv[2]))
def clean(o):
    o = dict(o)
    o.pop("uptime_s", None)
    o.pop("history", None)
    for z in o.get("zone_list", []):
        z.pop("age_s", None)
    return o
w, c = clean(web), clean(ctl)
bad = [k for k in sorted(set(w) | set(c)) if w.get(k) != c.get(k)]
if bad:
    for k in bad:
        print("%s: web %r ctl %r" % (k, w.get(k), c.get(k)))
    sys.exit(1)
h = web["history"]
assert h["bucket_s"] == 10, h["bucket_s"]
b = h["buckets"]
assert 1 <= len(b) <= 90, len(b)
assert sum(x["queries"] for x in b) == web["queries"]["total"], "history queries != total"
for rc, n in web["rcodes"].items():
    assert sum(x["rcodes"][rc] for x in b) == n, "history %s != total" % rc
for x in b:
    assert x["seconds"] > 0 and abs(x["qps"] - x["queries"] / x["seconds"]) < 1e-6 * max(1, x["qps"]), x
print("ok %d keys, %d buckets" % (len(w), len(b)))
EOF
out=$(python3 "$T/compare.py" "$T/status.json" "$T/ctl.json" 2>&1)
like "$out" '^ok [0-9]+ keys' "/status.json holds what ctl status holds, and its history adds up to the totals"
[ "${out#ok}" = "$out" ] && diag "$out"

# what the page needs is in it
cat >"$T/fields.py" <<'EOF'
import json, sys
s = json.load(open(sys.argv[1]))
zones = {z["name"]: z for z in s["zone_list"]}
print("queries", s["queries"]["total"])
print("cache_hits", s["cache"]["hits"])
print("hit_rate", s["cache"]["hit_rate"] is not None)
print("file_zone", zones["privatelink.openai.azure.com."]["source"], zones["privatelink.openai.azure.com."]["records"])
print("arm_zone", zones["privatelink.blob.core.windows.net."]["source"], zones["privatelink.blob.core.windows.net."]["served"])
bad = zones.get("privatelink.vaultcore.azure.net.", {})
print("failing_zone", bad.get("served"), bool(bad.get("last_error")))
srv = {(g["group"], sv["address"]): sv for g in s["upstreams"] for sv in g["servers"]}
lab = srv[("lab", "127.0.0.2@5301")]
print("lab", lab["state"], lab["sent"] >= 1, "srtt_us" in lab)
spare = srv[("spare", "127.0.0.9@5309")]
print("spare", spare["state"], spare["max_qps"], spare["max_outstanding"])
EOF
fields=$(python3 "$T/fields.py" "$T/status.json" 2>&1)
like "$fields" '^queries 1[0-9]$' "queries counted (the start-up probe and the test's 10)"
like "$fields" '^cache_hits [1-9]' "a cache hit counted"
like "$fields" '^hit_rate True' "a hit rate once the cache was asked"
like "$fields" '^file_zone file 6$' "the zone file: source file, 6 records"
like "$fields" '^arm_zone arm True$' "the synced zone: source arm, served"
like "$fields" '^failing_zone False True$' "the zone whose listing fails: not served, with its error"
like "$fields" '^lab up True True$' "the asked upstream: up, with sends and an RTT"
like "$fields" '^spare unused 50 10$' "the idle upstream: unused, its caps (50 qps, 10 in flight)"

unlike "$(cat "$PLINKFWD_LOG")" "$TOKEN" "the token is never logged"

# ------------------------------------------------------------ the page in Chromium
CHROMIUM=$(command -v chromium || true)
if [ -z "$CHROMIUM" ]; then
	for p in "render with the token" "numbers match ctl status" "zones and upstreams match ctl status" \
		"the chart has a bar per bucket" "without the token: nothing rendered" \
		"without the token: no zone or server rows" "without the token: the page says what it needs" \
		"screenshot is a PNG"; do
		skip "status page in Chromium: $p" "chromium not installed (Debian package chromium)"
	done
	stop_plinkfwd
	done_testing
fi

# browse URL [ARGS...]  headless Chromium on this test's loopback only; its
# profile, crash dumps and cache stay in $T
browse() {
	local url=$1
	shift
	timeout 120 "$CHROMIUM" --headless --no-sandbox --disable-gpu --disable-dev-shm-usage \
		--disable-background-networking --disable-component-update --no-first-run --disable-sync \
		--disable-default-apps --disable-extensions --no-default-browser-check --hide-scrollbars \
		--user-data-dir="$T/chromium" --virtual-time-budget=8000 "$@" "$url" 2>>"$T/chromium.log"
}

browse "$URL/#token=$TOKEN" --dump-dom >"$T/page.html"
"$CTL" -s "$SOCK" status --json >"$T/ctl2.json" 2>"$T/ctl.err"

# The DOM read with the standard library's HTML parser: ids, and table rows
# by their data-zone / data-server attributes with the cells by class.
cat >"$T/dom.py" <<'EOF'
import json, sys
from html.parser import HTMLParser

class Dom(HTMLParser):
    def __init__(self):
        super().__init__()
        self.ids, self.rows, self.stack, self.row, self.cell = {}, [], [], None, None
        self.body, self.rects, self.banner = {}, 0, ""
    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "body":
            self.body = a
        if tag == "rect":
            self.rects += 1
        if tag == "tr" and ("data-zone" in a or "data-server" in a):
            self.row = {"attrs": a, "cells": {}}
            self.rows.append(self.row)
        if tag == "td" and self.row is not None:
            self.cell = (a.get("class") or "").split()
            self.row["cells"][" ".join(self.cell)] = ""
        if tag not in ("meta", "br", "input", "img", "link", "rect", "line", "polyline", "path"):
            self.stack.append((tag, a.get("id")))
    def handle_endtag(self, tag):
        while self.stack:
            t, _ = self.stack.pop()
            if t == tag:
                break
        if tag == "tr":
            self.row = None
        if tag == "td":
            self.cell = None
    def handle_data(self, data):
        for t, i in self.stack:
            if i:
                self.ids[i] = self.ids.get(i, "") + data
        if self.row is not None and self.cell is not None:
            self.row["cells"][" ".join(self.cell)] += data

d = Dom()
d.feed(open(sys.argv[1], encoding="utf-8").read())
ctl = json.load(open(sys.argv[2]))
problems = []
def want(what, got, exp):
    if str(got).strip() != str(exp):
        problems.append("%s: page %r, ctl %r" % (what, got, exp))
def cell(row, cls):
    for k, v in row["cells"].items():
        if cls in k.split():
            return v
    return None

mode = sys.argv[3]
if mode == "notoken":
    print("loaded" if d.body.get("data-loaded") else "not-loaded")
    print("rows %d" % len(d.rows))
    print("banner " + d.ids.get("banner", "").strip())
    sys.exit(0)
if d.body.get("data-loaded") != "1":
    problems.append("the page never rendered status.json")
if mode == "numbers":
    want("version", d.ids.get("version"), ctl["version"])
    want("pid", d.ids.get("pid"), ctl["pid"])
    want("workers", d.ids.get("workers"), ctl["workers"])
    want("generation", d.ids.get("generation"), ctl["generation"])
    want("listen", d.ids.get("listen"), ", ".join(ctl["listen"]))
    want("health", d.ids.get("health"), ctl["health"])
    want("queries-total", d.ids.get("queries-total"), ctl["queries"]["total"])
    want("queries-udp", d.ids.get("queries-udp"), ctl["queries"]["udp"])
    want("queries-tcp", d.ids.get("queries-tcp"), ctl["queries"]["tcp"])
    for k in ("entries", "bytes", "max_bytes", "hits", "misses", "stale"):
        want("cache " + k, d.ids.get("cache-" + k.replace("_", "-")), ctl["cache"][k])
    want("hit rate", d.ids.get("cache-hit-rate"), "%.1f %%" % (100 * ctl["cache"]["hit_rate"]))
    want("reloads ok", d.ids.get("reloads-ok"), ctl["reload"]["ok"])
    want("reloads failed", d.ids.get("reloads-failed"), ctl["reload"]["failed"])
    for rc, n in ctl["rcodes"].items():
        if n and ("%s %d" % (rc, n)) not in d.ids.get("rcodes", ""):
            problems.append("rcodes: %s %d missing from %r" % (rc, n, d.ids.get("rcodes")))
elif mode == "tables":
    zrows = {r["attrs"]["data-zone"]: r for r in d.rows if "data-zone" in r["attrs"]}
    for z in ctl["zone_list"]:
        r = zrows.get(z["name"])
        if r is None:
            problems.append("zone %s not on the page" % z["name"])
            continue
        want(z["name"] + " source", cell(r, "source"), z["source"] + ("" if z["served"] else " (not served)"))
        want(z["name"] + " records", cell(r, "records"), z["records"])
        want(z["name"] + " serial", cell(r, "serial"), "–" if z["serial"] is None else z["serial"])
        if z.get("last_error"):
            want(z["name"] + " error", cell(r, "detail"), z["last_error"])
        elif z["source"] == "file":
            want(z["name"] + " file", cell(r, "detail"), z["file"])
        if z["source"] == "arm" and z.get("last_sync"):
            if "UTC" not in (cell(r, "last_sync") or ""):
                problems.append(z["name"] + ": no last sync time")
    if len(zrows) != len(ctl["zone_list"]):
        problems.append("zones: %d on the page, %d in ctl" % (len(zrows), len(ctl["zone_list"])))
    srows = {(r["attrs"]["data-group"], r["attrs"]["data-server"]): r for r in d.rows if "data-server" in r["attrs"]}
    n = 0
    for g in ctl["upstreams"]:
        for sv in g["servers"]:
            n += 1
            r = srows.get((g["group"], sv["address"]))
            if r is None:
                problems.append("server %s/%s not on the page" % (g["group"], sv["address"]))
                continue
            want(sv["address"] + " state", cell(r, "state"), sv["state"])
            want(sv["address"] + " max qps", cell(r, "max_qps"), sv["max_qps"] or "none")
            want(sv["address"] + " max outstanding", cell(r, "max_outstanding"), sv["max_outstanding"] or "none")
            for k in ("sent", "answered", "failed", "timeouts"):
                want(sv["address"] + " " + k, cell(r, k), sv.get(k, 0))
            if "srtt_us" in sv:
                want(sv["address"] + " RTT", cell(r, "srtt"), "%.1f" % (sv["srtt_us"] / 1000))
    if len(srows) != n:
        problems.append("servers: %d on the page, %d in ctl" % (len(srows), n))
elif mode == "chart":
    print("rects %d" % d.rects)
    sys.exit(0)
for p in problems:
    print(p)
print("ok" if not problems else "%d problems" % len(problems))
EOF
out=$(python3 "$T/dom.py" "$T/page.html" "$T/ctl2.json" numbers 2>&1)
ok "status page in Chromium: render with the token" grep -q 'data-loaded="1"' "$T/page.html"
is "$out" ok "status page in Chromium: numbers match ctl status"
[ "$out" = ok ] || diag "$(tail -n 30 "$T/chromium.log" 2>/dev/null)"
out=$(python3 "$T/dom.py" "$T/page.html" "$T/ctl2.json" tables 2>&1)
is "$out" ok "status page in Chromium: zones and upstreams match ctl status"
nb=$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["history"]["buckets"]))' "$T/status.json")
rects=$(python3 "$T/dom.py" "$T/page.html" "$T/ctl2.json" chart 2>&1)
like "$rects" '^rects [1-9][0-9]*$' "status page in Chromium: the chart has a bar per bucket ($rects, $nb buckets before)"

# the fragment never reaches the server: without it the script has no token
browse "$URL/" --dump-dom >"$T/page-notoken.html"
out=$(python3 "$T/dom.py" "$T/page-notoken.html" "$T/ctl2.json" notoken 2>&1)
like "$out" '^not-loaded$' "status page in Chromium: without the token: nothing rendered"
like "$out" '^rows 0$' "status page in Chromium: without the token: no zone or server rows"
like "$out" '^banner this page needs the token of http-token-file' "status page in Chromium: without the token: the page says what it needs"

rm -f "$T/status-page.png"
browse "$URL/#token=$TOKEN" --window-size=1280,1280 --screenshot="$T/status-page.png" >/dev/null
sig=$(head -c 8 "$T/status-page.png" 2>/dev/null | od -An -tx1 | tr -d ' \n')
is "$sig" 89504e470d0a1a0a "status page in Chromium: screenshot is a PNG"
if [ -n "${PLINKFWD_SCREENSHOT:-}" ] && [ -s "$T/status-page.png" ]; then
	cp "$T/status-page.png" "$PLINKFWD_SCREENSHOT"
fi

ok "plinkfwd still runs" plinkfwd_alive
stop_plinkfwd
is "$PLINKFWD_RC" 0 "clean exit"
done_testing
