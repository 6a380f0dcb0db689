# t_dot.sh -- DNS over TLS (RFC 7858): kdig +tls and dig +tls against the
# daemon with the test's own CA verified; answers identical to UDP for
# local, forwarded and spliced names; 100 pipelined queries answered out of
# order on one connection; session resumption; the ACL at accept; garbage
# inside and outside TLS; the idle timeout and the connection cap; a bad
# certificate on reload keeps the old one, a good one replaces it; a client
# that half-closes (close_notify) after its queries still gets every answer.
#
# Events only: a close is the client seeing EOF and the daemon's counters
# saying why (plinkfwd-ctl stats: tls.idle, tls.over_limit, tls.bad_stream,
# tls.tls_error, tls.denied); answer order is the IDs in the order they
# arrive.  How long the idle timeout waits is not asserted.
. "$(dirname "$0")/lib.sh"
. "$LIBDIR/lib_tls.sh"

# the defaults: listen-tls with no port is 853 (a private namespace: free)
TLS_PORT=853

ok "test CA A and its server certificate" make_ca_cert "$T/ca-a"
ok "test CA B and its server certificate" make_ca_cert "$T/ca-b"
cp "$T/ca-a/server.pem" "$T/server.pem"
cp "$T/ca-a/server.key" "$T/server.key"

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
# a slow upstream: its answers leave after everything local on a connection
ok "a slow responder starts" spawn_responder slow 127.0.0.16 --mode answer --addr 192.0.2.99 --delay 500

# dot_conf FILE [EXTRA-SERVER-LINES...]
dot_conf() {
	local f=$1 extra=""
	shift
	for l in "$@"; do extra="$extra    $l
"; done
	mkdir -p "$T/run"
	cat >"$f" <<EOF2
server:
    listen: 127.0.0.1@$PORT
    listen-tls: 127.0.0.1
    tls-cert: $T/server.pem
    tls-key: $T/server.key
    workers: 1
    cloud: AzureCloud
    log-level: debug
    control-socket: $T/run/control.sock
    http-listen: 127.0.0.1@$((PORT + 1000))
    query-log: $T/query.log
    upstream-timeout: 3000
    query-timeout: 6000
    deny: 127.0.0.9
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
    allow-transfer: 127.0.0.1/32
zone: privatelink.blob.core.windows.net
    file: $LIBDIR/peers/splice/privatelink.blob.core.windows.net.local.zone
EOF2
}

# ------------------------------------------------------------ configuration checks
cat >"$T/nocert.conf" <<EOF2
server:
    listen: 127.0.0.1@$PORT
    listen-tls: 127.0.0.1
EOF2
R=$("$PLINKFWD" -t -c "$T/nocert.conf" 2>&1)
like "$R" 'nocert\.conf:3: listen-tls needs tls-cert and tls-key' "-t: listen-tls without a certificate is a config error at its line"
printf 'not a certificate\n' >"$T/garbage.pem"
dot_conf "$T/badcert.conf"
sed -i "s|tls-cert: .*|tls-cert: $T/garbage.pem|" "$T/badcert.conf"
R=$("$PLINKFWD" -t -c "$T/badcert.conf" 2>&1)
like "$R" "tls-cert $T/garbage\\.pem: " "-t: an unusable certificate is reported with its path"
dot_conf "$T/mismatch.conf"
sed -i "s|tls-key: .*|tls-key: $T/ca-b/server.key|" "$T/mismatch.conf"
R=$("$PLINKFWD" -t -c "$T/mismatch.conf" 2>&1)
like "$R" "tls-key $T/ca-b/server\\.key: .*mismatch" "-t: a key that is not the certificate's is reported"

dot_conf "$T/dot.conf"
R=$("$PLINKFWD" -t -c "$T/dot.conf" 2>&1)
like "$R" ': ok ' "-t: the DoT configuration checks"
ok "plinkfwd starts" start_plinkfwd "$T/dot.conf"
ok "it says where DoT listens" wait_log 'listening on 127\.0\.0\.1@853 \(tls: DNS over TLS\)'
CA=$T/ca-a/ca.pem

# ------------------------------------------------------------ answers identical to UDP
# same_as_udp NAME TYPE DESC  kdig +tls and dig +tls give UDP's rcode and records
same_as_udp() {
	local name=$1 type=$2 desc=$3
	q "$name" "$type"
	kq tls "$CA" "$name" "$type"
	is "$K_STATUS" "$Q_STATUS" "kdig +tls, $desc: rcode as over UDP ($Q_STATUS)"
	is "$(answer_nottl "$K_ANSWER")" "$(answer_nottl "$Q_ANSWER")" "kdig +tls, $desc: the records UDP gets"
	dq tls "$CA" "$name" "$type"
	is "$D_STATUS" "$Q_STATUS" "dig +tls, $desc: rcode as over UDP"
	is "$(answer_nottl "$D_ANSWER")" "$(answer_nottl "$Q_ANSWER")" "dig +tls, $desc: the records UDP gets"
}
same_as_udp www.lab.test A "local zone"
like "$K_OUT" 'TLS session \(TLS1\.3\)' "kdig: TLS 1.3 negotiated, the CA verified"
same_as_udp alias.lab.test A "local CNAME"
same_as_udp nope.lab.test A "local NXDOMAIN"
same_as_udp plain.openai.azure.com A "forwarded (default group)"
same_as_udp acct.openai.azure.com A "spliced (public chain into a privatelink name)"
like "$K_ANSWER" 'acct\.privatelink\.openai\.azure\.com\. [0-9]+ IN A 10\.0\.0\.5' "spliced over TLS: the private address"
same_as_udp sa1.blob.core.windows.net A "spliced into a local zone"
# zone transfers over TLS (RFC 9103's transport; the same xfr_out.c as TCP):
# the whole zone, as over TCP, on the batched DoT write path
X_TCP=$(dig @127.0.0.1 -p "$PORT" +tcp +time=5 +tries=1 lab.test AXFR 2>&1 | grep -v '^;' | grep -v '^$' | tr -s ' \t' ' ')
X_TLS=$(kdig @127.0.0.1 -p "$TLS_PORT" +tls +tls-ca="$CA" +tls-hostname=dns.lab.test +time=5 +retry=0 \
	lab.test AXFR 2>&1 | grep -v '^;' | grep -v '^$' | tr -s ' \t' ' ')
is "$(printf '%s\n' "$X_TLS" | grep -c ' IN SOA ')" 2 "AXFR over TLS: opened and closed by the SOA"
is "$(printf '%s\n' "$X_TLS" | sort)" "$(printf '%s\n' "$X_TCP" | sort)" "AXFR over TLS: the records TCP's AXFR gets"
like "$X_TLS" 'www\.lab\.test\. 300 IN A 192\.0\.2\.1' "AXFR over TLS: the zone's records"
# (kdig and dig print SVCB differently: dig against dig)
q _dns.resolver.arpa SVCB
dq tls "$CA" _dns.resolver.arpa SVCB
is "$D_STATUS/$(answer_nottl "$D_ANSWER")" "$Q_STATUS/$(answer_nottl "$Q_ANSWER")" "dig +tls, DDR's SVCB: as over UDP"

# ------------------------------------------------------------ DDR: the DoT listener designated
q _dns.resolver.arpa SVCB
is "$Q_STATUS/$Q_ANCOUNT" NOERROR/1 "DDR: _dns.resolver.arpa SVCB has one record"
ok "DDR: authoritative" q_flag aa
is "$Q_ANSWER" '_dns.resolver.arpa. 300 IN SVCB 1 . alpn="dot" ipv4hint=127.0.0.1' \
	"DDR: DoT on the default port 853, TargetName '.' (no tls-name), the address as a hint"
q _dns.resolver.arpa A
is "$Q_STATUS/$Q_ANCOUNT" NOERROR/0 "DDR: other types at _dns.resolver.arpa stay NODATA"

# kdig with the wrong CA must fail: the verification is real
kq tls "$T/ca-b/ca.pem" www.lab.test A
isnt "$K_STATUS" NOERROR "kdig with another CA does not get an answer (the certificate is verified)"

# ------------------------------------------------------------ pipelining, out of order
names=""
for i in $(seq 1 99); do names="$names n$i.wild.lab.test"; done
R=$($TLSCLIENT pipeline 127.0.0.1 "$TLS_PORT" "$CA" 100 q1.slow.test $names)
like "$R" '^sent=100 answered=100 ids=ok questions=ok ' "100 pipelined queries on one TLS connection, each answered once with its question"
like "$R" ' alpn=dot$' "ALPN dot negotiated"
like "$R" ' last=1 ' "the slow forwarded query, sent first, is answered last (out of order)"
unlike "$R" ' first=1 ' "the first answer is not the first query's"
is "$(wc -l <"$T/slow-queries.log")" 1 "the slow upstream got its one query"

# the queries and the client's close_notify in one write (OpenSSL reads them
# ahead together): every answer still comes, local ones (queued when the
# end is read) and a forwarded one (answered after it)
R=$($TLSCLIENT halfclose 127.0.0.1 "$TLS_PORT" "$CA" 20 $names)
is "$R" "sent=20 answered=20" "a client that half-closes (close_notify) after 20 pipelined local queries gets every answer"
R=$($TLSCLIENT halfclose 127.0.0.1 "$TLS_PORT" "$CA" 20 q2.slow.test $names)
is "$R" "sent=20 answered=20" "... and after 20 with a forwarded one among them"

R=$($TLSCLIENT resume 127.0.0.1 "$TLS_PORT" "$CA")
is "$R" "resumed=1" "a second connection resumes the first one's session (ticket)"
ok "tls.resumed counted" test "$(ctl_stat tls.resumed)" -ge 1

# ------------------------------------------------------------ transport in the query log and /metrics
ql_has_tls() { grep -q ' tls www\.lab\.test\. A NOERROR local ' "$T/query.log"; }
ok "query log: a DoT answer is logged with transport tls" wait_until ql_has_tls
ql_has_slow() { grep -q ' tls q1\.slow\.test\. A NOERROR upstream:slow ' "$T/query.log"; }
ok "query log: the forwarded DoT answer too" wait_until ql_has_slow
v=$(metric_value 'plinkfwd_queries_total{transport="tls"}')
ok "/metrics: queries over tls counted ($v)" test "${v:-0}" -ge 100
v=$(metric_value 'plinkfwd_answers_total{transport="tls",source="local",rcode="NOERROR"}')
ok "/metrics: local answers over tls counted ($v)" test "${v:-0}" -ge 100
v=$(metric_value 'plinkfwd_encrypted_connection_events_total{transport="tls",event="handshake"}')
ok "/metrics: TLS handshakes counted ($v)" test "${v:-0}" -ge 5

# ------------------------------------------------------------ ACL at accept
d0=$(ctl_stat tls.denied)
R=$(SRC=127.0.0.9 $TLSCLIENT verify 127.0.0.1 "$TLS_PORT" "$CA")
like "$R" '^failed' "a source the ACL denies gets no handshake"
is "$(ctl_stat tls.denied)" $((d0 + 1)) "tls.denied counted (closed at accept)"

# ------------------------------------------------------------ garbage
b0=$(ctl_stat tls.bad_stream)
R=$($TLSCLIENT garbage 127.0.0.1 "$TLS_PORT" "$CA" 60)
is "$R" closed "garbage inside TLS (a 5-byte message): the connection is closed"
is "$(ctl_stat tls.bad_stream)" $((b0 + 1)) "tls.bad_stream counted"
e0=$(ctl_stat tls.tls_error)
R=$($TLSCLIENT rawgarbage 127.0.0.1 "$TLS_PORT" 60)
is "$R" closed "bytes that are not TLS: the connection is closed"
tls_error_grew() { [ "$(ctl_stat tls.tls_error)" -gt "$e0" ]; }
ok "tls.tls_error counted" wait_until tls_error_grew
kq tls "$CA" www.lab.test A
is "$K_STATUS" NOERROR "another DoT client is served after the garbage"
q www.lab.test A
is "$Q_STATUS" NOERROR "UDP is served after the garbage"

# ------------------------------------------------------------ reload: a bad certificate keeps the old one
cp "$T/garbage.pem" "$T/server.pem"
mark=$(log_mark)
sighup_plinkfwd
ok "reload with a bad certificate fails and says why" \
	wait_log "reload failed, still serving the previous configuration: tls-cert $T/server\\.pem: " 10 "$mark"
R=$("$CTL" -s "$T/run/control.sock" status 2>&1)
like "$R" 'tls-cert' "plinkfwd-ctl status reports the failed reload's reason"
R=$($TLSCLIENT verify 127.0.0.1 "$TLS_PORT" "$CA")
is "$R" verified "clients still verify the old certificate (CA A)"
kq tls "$CA" www.lab.test A
is "$K_STATUS" NOERROR "kdig with CA A still answered"

cp "$T/ca-b/server.pem" "$T/server.pem"
cp "$T/ca-b/server.key" "$T/server.key"
mark=$(log_mark)
sighup_plinkfwd
ok "reload with a good new certificate succeeds" wait_log 'reloaded ' 10 "$mark"
R=$($TLSCLIENT verify 127.0.0.1 "$TLS_PORT" "$T/ca-b/ca.pem")
is "$R" verified "new connections get the new certificate (CA B verifies)"
R=$($TLSCLIENT verify 127.0.0.1 "$TLS_PORT" "$CA")
like "$R" '^failed' "... and CA A no longer does"
ok "plinkfwd alive" plinkfwd_alive
stop_plinkfwd
is "$PLINKFWD_RC" 0 "clean exit"

# ------------------------------------------------------------ idle timeout and connection cap
cp "$T/ca-a/server.pem" "$T/server.pem"
cp "$T/ca-a/server.key" "$T/server.key"
dot_conf "$T/limits.conf" "tls-idle-timeout: 1500" "tls-max-connections: 4"
ok "plinkfwd starts with an idle timeout of 1.5 s and a cap of 4" start_plinkfwd "$T/limits.conf"
i0=$(ctl_stat tls.idle)
R=$($TLSCLIENT hold 127.0.0.1 "$TLS_PORT" "$CA" 60)
is "$R" closed "an idle DoT connection is closed by the server"
is "$(ctl_stat tls.idle)" $((i0 + 1)) "tls.idle counted the close"
no_tls() { [ "$(ctl_stat tls.open)" = 0 ]; }
ok "no DoT connection is left open" wait_until no_tls

o0=$(ctl_stat tls.over_limit)
R=$($TLSCLIENT cap 127.0.0.1 "$TLS_PORT" "$CA" 6 www.lab.test)
is "$R" "AAAACC" "cap 4: four connections answered, the fifth and sixth closed at accept"
is "$(ctl_stat tls.over_limit)" $((o0 + 2)) "tls.over_limit counted both"
ok "no DoT connection is left open after the clients left" wait_until no_tls
kq tls "$CA" www.lab.test A
is "$K_STATUS" NOERROR "a new DoT connection is served once the others left"
q www.lab.test A +tcp
is "$Q_STATUS" NOERROR "TCP is unaffected by the DoT cap"
ok "plinkfwd alive" plinkfwd_alive
unlike "$(cat "$PLINKFWD_LOG")" 'AddressSanitizer|runtime error' "no crash report in the log"
stop_plinkfwd
is "$PLINKFWD_RC" 0 "clean exit (limits)"

done_testing
