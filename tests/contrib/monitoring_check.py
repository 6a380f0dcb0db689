#!/usr/bin/env python3
"""monitoring_check.py -- reads the files of contrib/ for tests/contrib/*.sh.

Standard library only (no YAML module: the rules files are read line by line,
in the layout contrib/prometheus/*.yml are written in, and a layout this
reader does not understand is an error, never a silent pass).

  alerts RULES            one line per alert: NAME<TAB>RUNBOOK
  anchors MARKDOWN        the GitHub anchor of every heading, one a line
  coverage TESTS          one line per alert tested: NAME<TAB>FIRES<TAB>CLEARS
                          (FIRES: some eval_time expects it firing; CLEARS: a
                          later eval_time expects it not firing)
  exprs RULES DASHBOARD   one line per expression: WHERE<TAB>EXPR
  names METRICS RULES DASHBOARD
                          for every expression, the metric names it uses
                          against the families of a /metrics scrape: one line
                          per expression, "ok WHERE: NAMES" or "bad WHERE:
                          unknown NAMES" (or "bad WHERE: names no metric")
  dashboard-rules DASHBOARD
                          every PromQL expression of the dashboard as a
                          recording rule, for `promtool check rules`
  extract EXPR            the metric names of one expression (for self-tests)
"""
import json
import re
import sys


def rules_alerts(path):
    """[(name, runbook, expr)] from a rules file written as ours are."""
    alerts = []
    cur = None
    lines = open(path).read().split("\n")
    i = 0
    while i < len(lines):
        line = lines[i]
        m = re.match(r"^\s*- alert:\s*(\S+)\s*$", line)
        if m:
            cur = {"name": m.group(1), "runbook": None, "expr": None}
            alerts.append(cur)
        m = re.match(r"^(\s*)expr:\s*(.*)$", line)
        if m:
            if cur is None:
                raise SystemExit("%s:%d: expr before any alert" % (path, i + 1))
            indent, val = len(m.group(1)), m.group(2).strip()
            if val in ("|", ">", "|-", ">-"):
                body = []
                while i + 1 < len(lines) and (not lines[i + 1].strip() or
                                              len(lines[i + 1]) - len(lines[i + 1].lstrip()) > indent):
                    i += 1
                    body.append(lines[i].strip())
                val = " ".join(b for b in body if b)
            elif val.startswith(("'", '"')):
                raise SystemExit("%s:%d: quoted expr: write it plain or as a | block" % (path, i + 1))
            cur["expr"] = val
        m = re.match(r'^\s*runbook:\s*"?([^"]*)"?\s*$', line)
        if m and cur is not None:
            cur["runbook"] = m.group(1)
        i += 1
    for a in alerts:
        if not a["expr"]:
            raise SystemExit("%s: alert %s: no expr found" % (path, a["name"]))
    return alerts


def anchors(path):
    out = []
    for line in open(path):
        m = re.match(r"^#{1,6}\s+(.*?)\s*$", line)
        if m:
            t = m.group(1).lower()
            t = re.sub(r"[^a-z0-9 _-]", "", t)
            out.append(t.replace(" ", "-"))
    return out


def coverage(path):
    """{alert: [(eval_minutes, firing)]} from a promtool test file."""
    res = {}
    t = name = None
    for n, line in enumerate(open(path), 1):
        m = re.match(r"^\s*- eval_time:\s*(\d+)m\s*$", line)
        if m:
            t, name = int(m.group(1)), None
            continue
        m = re.match(r"^\s*alertname:\s*(\S+)\s*$", line)
        if m:
            name = m.group(1)
            continue
        m = re.match(r"^\s*exp_alerts:\s*(.*?)\s*$", line)
        if m:
            if t is None or name is None:
                raise SystemExit("%s:%d: exp_alerts without eval_time and alertname" % (path, n))
            res.setdefault(name, []).append((t, m.group(1) != "[]"))
    return res


def dashboard_exprs(path):
    """(where, expr) of every panel target and every query variable."""
    d = json.load(open(path))
    out = []

    def panels(ps):
        for p in ps:
            yield p
            yield from panels(p.get("panels", []))

    for p in panels(d.get("panels", [])):
        for t in p.get("targets", []):
            if "expr" in t:
                out.append(("panel '%s' %s" % (p.get("title", "?"), t.get("refId", "?")), t["expr"]))
    for v in d.get("templating", {}).get("list", []):
        if v.get("type") == "query":
            q = v.get("query")
            if isinstance(q, dict):
                q = q.get("query")
            out.append(("variable $%s" % v.get("name", "?"), q or ""))
    for a in d.get("annotations", {}).get("list", []):
        if "expr" in a:
            out.append(("annotation '%s'" % a.get("name", "?"), a["expr"]))
    return out


def dashboard_rules(path):
    """A rules file with every PromQL expression of the dashboard as a
    recording rule (Grafana's variables replaced by values), so that
    `promtool check rules` parses them."""
    lines = ["groups:", "  - name: dashboard", "    rules:"]
    for i, (where, e) in enumerate(dashboard_exprs(path)):
        if e.startswith("label_values("):
            continue
        e = e.replace("$__rate_interval", "5m").replace("$__interval", "1m")
        e = re.sub(r"\$\{?[A-Za-z_][A-Za-z0-9_]*\}?", ".*", e)
        lines.append("      - record: dashboard:expr%d" % i)
        lines.append("        expr: %s" % json.dumps(e))
    return "\n".join(lines) + "\n"


KEYWORDS = {"and", "or", "unless", "by", "without", "on", "ignoring", "group_left",
            "group_right", "offset", "bool", "inf", "nan", "atan2"}


def extract(expr):
    """Metric names a PromQL expression (or a Grafana label_values() query) uses."""
    e = expr
    # label_values(METRIC{...}, LABEL) and metrics(RE) of Grafana variables
    e = re.sub(r"label_values\(\s*([^,()]*?)\s*,\s*[A-Za-z_][A-Za-z0-9_]*\s*\)", r" \1 ", e)
    e = re.sub(r"label_values\(\s*[A-Za-z_][A-Za-z0-9_]*\s*\)", " ", e)
    e = re.sub(r'"(?:[^"\\]|\\.)*"', " ", e)      # strings
    e = re.sub(r"'(?:[^'\\]|\\.)*'", " ", e)
    e = re.sub(r"`[^`]*`", " ", e)
    e = re.sub(r"\{[^{}]*\}", " ", e)             # label matchers
    e = re.sub(r"\[[^\[\]]*\]", " ", e)           # ranges, subqueries
    e = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^()]*\)", " ", e)
    e = re.sub(r"\$\{[^}]*\}|\$[A-Za-z_][A-Za-z0-9_]*", " ", e)  # Grafana variables
    names = []
    for m in re.finditer(r"(?<![\w.:])([A-Za-z_:][A-Za-z0-9_:]*)(?!\w)(\s*\()?", e):
        tok, call = m.group(1), m.group(2)
        if call or tok.lower() in KEYWORDS:
            continue
        if tok not in names:
            names.append(tok)
    return names


def families(path):
    """{family: type} from the # TYPE lines of a /metrics scrape."""
    fam = {}
    for line in open(path):
        if line.startswith("# TYPE "):
            _, _, name, typ = line.split()
            fam[name] = typ
    return fam


def known(name, fam):
    if name in fam:
        return True
    m = re.match(r"^(.*)_(bucket|sum|count)$", name)
    return bool(m) and fam.get(m.group(1)) == "histogram"


def all_exprs(rules, dash):
    return [("rule %s" % a["name"], a["expr"]) for a in rules_alerts(rules)] + dashboard_exprs(dash)


def main(argv):
    if len(argv) < 2:
        sys.exit(__doc__)
    cmd = argv[1]
    if cmd == "alerts":
        for a in rules_alerts(argv[2]):
            print("%s\t%s" % (a["name"], a["runbook"] or ""))
    elif cmd == "anchors":
        print("\n".join(anchors(argv[2])))
    elif cmd == "coverage":
        for name, evals in sorted(coverage(argv[2]).items()):
            fires = [t for t, f in evals if f]
            clears = fires and any(t > min(fires) and not f for t, f in evals)
            print("%s\t%s\t%s" % (name, "yes" if fires else "no", "yes" if clears else "no"))
    elif cmd == "exprs":
        for where, e in all_exprs(argv[2], argv[3]):
            print("%s\t%s" % (where, e))
    elif cmd == "names":
        fam = families(argv[2])
        if not fam:
            sys.exit("%s: no # TYPE line" % argv[2])
        for where, e in all_exprs(argv[3], argv[4]):
            names = extract(e)
            bad = [n for n in names if not known(n, fam)]
            if not names:
                print("bad %s: names no metric: %s" % (where, e))
            elif bad:
                print("bad %s: unknown %s" % (where, " ".join(bad)))
            else:
                print("ok %s: %s" % (where, " ".join(names)))
    elif cmd == "dashboard-rules":
        sys.stdout.write(dashboard_rules(argv[2]))
    elif cmd == "extract":
        print(" ".join(extract(argv[2])))
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv)
