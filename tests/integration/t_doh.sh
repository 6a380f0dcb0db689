# t_doh.sh -- DNS over HTTPS (RFC 8484) over HTTP/2: kdig +https, dig
# +https (POST) and +https-get, and curl, with the test's own CA verified;
# answers identical to UDP for local, forwarded and spliced names; many
# queries multiplexed on one connection and answered out of order; the
# HTTP errors (404, 405, 415, 400); HTTP/1.1 refused by ALPN; garbage after
# the handshake; the idle timeout and the connection cap.
#
# Events only: connections are the daemon's own counters (plinkfwd-ctl
# stats: https.accepted, https.idle, https.over_limit, https.bad_stream),
# answer order is the order curl finishes its transfers.
. "$(dirname "$0")/lib.sh"
. "$LIBDIR/lib_tls.sh"

# the defaults: listen-https with no port is 443 (a private namespace: free)
HTTPS_PORT=443
ok "test CA and server certificate" make_ca_cert "$T/ca"
CA=$T/ca/ca.pem

cat >"$T/lab.test.zone" <<'EOF2'
$ORIGIN lab.test.
$TTL 300
@       IN SOA  ns.lab.test. hostmaster.lab.test. 1 3600 600 86400 60
@       IN NS   ns
ns      IN A    192.0.2.53
www     IN A    192.0.2.1
alias   IN CNAME www
*.wild  IN A    192.0.2.50
EOF2

. "$LIBDIR/peers/splice/peers.sh"
start_splice_peers
ok "a slow responder starts" spawn_responder slow 127.0.0.16 --mode answer --addr 192.0.2.99 --delay 500

# doh_conf FILE [EXTRA-SERVER-LINES...]
doh_conf() {
	local f=$1 extra=""
	shift
	for l in "$@"; do extra="$extra    $l
"; done
	mkdir -p "$T/run"
	cat >"$f" <<EOF2
server:
    listen: 127.0.0.1@$PORT
    listen-https: 127.0.0.1
    listen-https: ::1@8443
    listen-tls: 127.0.0.1@8853
    tls-name: dns.lab.test
    tls-cert: $T/ca/server.pem
    tls-key: $T/ca/server.key
    workers: 1
    cloud: AzureCloud
    log-level: debug
    control-socket: $T/run/control.sock
    http-listen: 127.0.0.1@$((PORT + 1000))
    query-log: $T/query.log
    upstream-timeout: 3000
    query-timeout: 6000
${extra}upstream: azure
    server: 127.0.0.12@5301
upstream: default
    server: 127.0.0.11@5301
upstream: slow
    server: 127.0.0.16@5301
forward: slow.test
    to: slow
zone: lab.test
    file: $T/lab.test.zone
zone: privatelink.blob.core.windows.net
    file: $LIBDIR/peers/splice/privatelink.blob.core.windows.net.local.zone
EOF2
}
doh_conf "$T/doh.conf"
ok "plinkfwd starts" start_plinkfwd "$T/doh.conf"
ok "it says where DoH listens" wait_log 'listening on 127\.0\.0\.1@443 \(https: DNS over HTTPS\)'

# ------------------------------------------------------------ answers identical to UDP
same_as_udp() {
	local name=$1 type=$2 desc=$3
	q "$name" "$type"
	kq https "$CA" "$name" "$type"
	is "$K_STATUS" "$Q_STATUS" "kdig +https, $desc: rcode as over UDP ($Q_STATUS)"
	is "$(answer_nottl "$K_ANSWER")" "$(answer_nottl "$Q_ANSWER")" "kdig +https, $desc: the records UDP gets"
	dq https "$CA" "$name" "$type"
	is "$D_STATUS" "$Q_STATUS" "dig +https (POST), $desc: rcode as over UDP"
	is "$(answer_nottl "$D_ANSWER")" "$(answer_nottl "$Q_ANSWER")" "dig +https (POST), $desc: the records UDP gets"
	dq https-get "$CA" "$name" "$type"
	is "$D_STATUS" "$Q_STATUS" "dig +https-get, $desc: rcode as over UDP"
	is "$(answer_nottl "$D_ANSWER")" "$(answer_nottl "$Q_ANSWER")" "dig +https-get, $desc: the records UDP gets"
}
same_as_udp www.lab.test A "local zone"
like "$K_OUT" 'HTTP session \(HTTP/2-POST\)' "kdig: HTTP/2, the CA verified"
same_as_udp alias.lab.test A "local CNAME"
same_as_udp nope.lab.test A "local NXDOMAIN"
same_as_udp plain.openai.azure.com A "forwarded (default group)"
same_as_udp acct.openai.azure.com A "spliced (public chain into a privatelink name)"
like "$K_ANSWER" 'acct\.privatelink\.openai\.azure\.com\. [0-9]+ IN A 10\.0\.0\.5' "spliced over HTTPS: the private address"
same_as_udp sa1.blob.core.windows.net A "spliced into a local zone"
kq https "$T/no-such-ca.pem" www.lab.test A
isnt "$K_STATUS" NOERROR "kdig without the CA gets no answer (the certificate is verified)"

# ------------------------------------------------------------ DDR: both listeners designated
q _dns.resolver.arpa SVCB
is "$Q_STATUS/$Q_ANCOUNT" NOERROR/3 "DDR: three SVCB records (DoH on 443 and 8443, DoT on 8853)"
is "$Q_ANSWER" '_dns.resolver.arpa. 300 IN SVCB 1 dns.lab.test. alpn="h2" ipv4hint=127.0.0.1 key7="/dns-query{?dns}"
_dns.resolver.arpa. 300 IN SVCB 2 dns.lab.test. alpn="h2" port=8443 ipv6hint=::1 key7="/dns-query{?dns}"
_dns.resolver.arpa. 300 IN SVCB 3 dns.lab.test. alpn="dot" port=8853 ipv4hint=127.0.0.1' \
	"DDR: TargetName tls-name, alpn, port off the default, address hints, dohpath (dig prints it as key7)"
is "$Q_ADDITIONAL" 'dns.lab.test. 300 IN A 127.0.0.1
dns.lab.test. 300 IN AAAA ::1' "DDR: the addresses of tls-name in the additional section (RFC 9462 4)"
K_OUT=$(kdig @::1 -p 8443 +https=/dns-query +tls-ca="$CA" +tls-hostname=dns.lab.test www.lab.test A 2>&1)
like "$K_OUT" 'status: NOERROR' "the designated DoH endpoint on [::1]:8443 answers, verified"
K_OUT=$(kdig @127.0.0.1 -p 8853 +tls +tls-ca="$CA" +tls-hostname=dns.lab.test www.lab.test A 2>&1)
like "$K_OUT" 'status: NOERROR' "the designated DoT endpoint on 127.0.0.1:8853 answers, verified"

# ------------------------------------------------------------ curl: GET, media type, errors
URL=$(doh_url "$HTTPS_PORT" www.lab.test A 4660)
R=$(curl -sS --cacert "$CA" -o "$T/body" -w '%{http_code} %{http_version} %{content_type}' "$URL" 2>&1)
is "$R" "200 2 application/dns-message" "GET ?dns=: 200 over HTTP/2, application/dns-message"
R=$(python3 -c 'import sys; d = open(sys.argv[1], "rb").read(); print(d[0] * 256 + d[1], d[3] & 15, d[7])' "$T/body")
is "$R" "4660 0 1" "GET: the body is the answer (the query's ID, NOERROR, one record)"
R=$(curl -sS --cacert "$CA" -o /dev/null -w '%header{cache-control}' "$URL" 2>&1)
is "$R" "max-age=300" "cache-control: max-age is the answer's TTL (RFC 8484 5.1)"
code() { curl -sS --cacert "$CA" -o /dev/null -w '%{http_code}' "$@" 2>/dev/null; }
is "$(code "https://127.0.0.1:$HTTPS_PORT/other")" 404 "another path: 404"
is "$(code "https://127.0.0.1:$HTTPS_PORT/dns-query")" 400 "GET without dns=: 400"
is "$(code "https://127.0.0.1:$HTTPS_PORT/dns-query?dns=A")" 400 "GET with a dns= that is not base64url: 400"
is "$(code "https://127.0.0.1:$HTTPS_PORT/dns-query?dns=AAAA")" 400 "GET with a dns= shorter than a header: 400"
is "$(code -X PUT "https://127.0.0.1:$HTTPS_PORT/dns-query")" 405 "PUT: 405"
is "$(code -H 'content-type: text/plain' --data-binary x "https://127.0.0.1:$HTTPS_PORT/dns-query")" 415 \
	"POST of another media type: 415"
head -c 70000 /dev/zero >"$T/big"
is "$(code -H 'content-type: application/dns-message' --data-binary @"$T/big" "https://127.0.0.1:$HTTPS_PORT/dns-query")" 413 \
	"POST of more than 65,535 bytes: 413"
R=$(curl -sS --http1.1 --cacert "$CA" -o /dev/null -w '%{http_code}' "$URL" 2>&1)
unlike "$R" '^200' "HTTP/1.1 only: refused by ALPN (no_application_protocol), no answer"

# ------------------------------------------------------------ many streams on one connection, out of order
a0=$(ctl_stat https.accepted)
urls=("$(doh_url "$HTTPS_PORT" q1.slow.test A 1)")
for i in $(seq 2 50); do urls+=("$(doh_url "$HTTPS_PORT" "n$i.wild.lab.test" A "$i")"); done
args=()
for u in "${urls[@]}"; do args+=(-o /dev/null "$u"); done
R=$(curl -sS -Z --parallel-max 50 --cacert "$CA" -w '%{http_code} %{url_effective}\n' "${args[@]}" 2>>"$T/curl.log")
is "$(printf '%s\n' "$R" | grep -c '^200 ')" 50 "50 queries multiplexed by curl: 50 answers of 200"
is "$(ctl_stat https.accepted)" $((a0 + 1)) "... on one connection"
is "$(printf '%s\n' "$R" | tail -n 1)" "200 ${urls[0]}" "the slow forwarded query, sent first, finished last (out of order)"

# ------------------------------------------------------------ transport in the query log and /metrics
ql_has_https() { grep -q ' https www\.lab\.test\. A NOERROR local ' "$T/query.log"; }
ok "query log: a DoH answer is logged with transport https" wait_until ql_has_https
ql_has_slow() { grep -q ' https q1\.slow\.test\. A NOERROR upstream:slow ' "$T/query.log"; }
ok "query log: the forwarded DoH answer too" wait_until ql_has_slow
v=$(metric_value 'plinkfwd_queries_total{transport="https"}')
ok "/metrics: queries over https counted ($v)" test "${v:-0}" -ge 60
v=$(metric_value 'plinkfwd_answers_total{transport="https",source="local",rcode="NOERROR"}')
ok "/metrics: local answers over https counted ($v)" test "${v:-0}" -ge 50

# ------------------------------------------------------------ garbage after the handshake
b0=$(ctl_stat https.bad_stream)
R=$(ALPN=h2 $TLSCLIENT garbage 127.0.0.1 "$HTTPS_PORT" "$CA" 60)
is "$R" closed "bytes that are not HTTP/2 after the handshake: closed"
is "$(ctl_stat https.bad_stream)" $((b0 + 1)) "https.bad_stream counted"
kq https "$CA" www.lab.test A
is "$K_STATUS" NOERROR "another DoH client is served after the garbage"
ok "plinkfwd alive" plinkfwd_alive
stop_plinkfwd
is "$PLINKFWD_RC" 0 "clean exit"

# ------------------------------------------------------------ idle timeout and connection cap
doh_conf "$T/limits.conf" "tls-idle-timeout: 1500" "tls-max-connections: 2"
ok "plinkfwd starts with an idle timeout of 1.5 s and a cap of 2" start_plinkfwd "$T/limits.conf"
i0=$(ctl_stat https.idle)
R=$(ALPN=h2 $TLSCLIENT hold 127.0.0.1 "$HTTPS_PORT" "$CA" 60)
is "$R" closed "an idle DoH connection is closed by the server"
is "$(ctl_stat https.idle)" $((i0 + 1)) "https.idle counted the close"
no_https() { [ "$(ctl_stat https.open)" = 0 ]; }
ok "no DoH connection is left open" wait_until no_https
o0=$(ctl_stat https.over_limit)
R=$(ALPN=h2 $TLSCLIENT conns 127.0.0.1 "$HTTPS_PORT" "$CA" 3)
is "$R" "OOC" "cap 2: two connections get a handshake, the third is closed at accept"
is "$(ctl_stat https.over_limit)" $((o0 + 1)) "https.over_limit counted it"
ok "the held connections are gone" wait_until no_https
kq https "$CA" www.lab.test A
is "$K_STATUS" NOERROR "a new DoH connection is served once the others left"
ok "plinkfwd alive" plinkfwd_alive
unlike "$(cat "$PLINKFWD_LOG")" 'AddressSanitizer|runtime error' "no crash report in the log"
stop_plinkfwd
is "$PLINKFWD_RC" 0 "clean exit (limits)"

done_testing
