# lib_tls.sh -- certificates and clients for the DoT and DoH tests (sourced
# after lib.sh).  Every certificate is made here, by this run, with openssl:
# a test CA and a server certificate for 127.0.0.1, ::1 (IP
# subjectAltNames, what DDR clients such as Windows verify) and
# dns.lab.test.
TLSCLIENT="python3 $LIBDIR/tlsclient.py"

# make_ca_cert DIR  DIR/ca.pem, DIR/server.pem, DIR/server.key
make_ca_cert() {
	local d=$1
	mkdir -p "$d"
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
		-subj "/CN=plinkfwd test CA $(basename "$d")" -keyout "$d/ca.key" -out "$d/ca.pem" \
		-addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign >>"$T/openssl.log" 2>&1 &&
		openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=dns.lab.test" \
			-keyout "$d/server.key" -out "$d/server.csr" >>"$T/openssl.log" 2>&1 &&
		printf 'subjectAltName=IP:127.0.0.1,IP:::1,DNS:dns.lab.test\nextendedKeyUsage=serverAuth\n' >"$d/ext.cnf" &&
		openssl x509 -req -in "$d/server.csr" -CA "$d/ca.pem" -CAkey "$d/ca.key" -CAcreateserial -days 2 \
			-extfile "$d/ext.cnf" -out "$d/server.pem" >>"$T/openssl.log" 2>&1
}

# answer_nottl TEXT  answer records with the TTL column dropped (a cached
# answer's TTL counts down between two queries)
answer_nottl() { printf '%s\n' "$1" | awk 'NF { $2 = ""; print }'; }

# kq PROTO CA NAME [TYPE] [KDIG-ARGS...]  kdig over +tls or +https, the CA
# verified and the name checked; sets K_OUT, K_STATUS, K_ANSWER (records one
# per line, blanks squeezed, as q does)
kq() {
	local proto=$1 ca=$2 name=$3 type=${4:-A} port
	shift 3
	[ $# -gt 0 ] && shift
	if [ "$proto" = tls ]; then port=$TLS_PORT; else port=$HTTPS_PORT; fi
	K_OUT=$(kdig @127.0.0.1 -p "$port" +"$proto" +tls-ca="$ca" +tls-hostname=dns.lab.test +norec \
		+time=5 +retry=0 "$@" "$name" "$type" 2>&1)
	K_STATUS=$(printf '%s\n' "$K_OUT" | sed -n 's/.*opcode: [A-Z]*; status: \([A-Z]*\).*/\1/p' | head -n 1)
	K_ANSWER=$(printf '%s\n' "$K_OUT" | awk '/^;; ANSWER SECTION:/ { a = 1; next } /^;;/ || /^$/ { a = 0 } a' |
		tr -s ' \t' ' ')
}

# dq PROTO CA NAME [TYPE] [DIG-ARGS...]  the same with BIND's dig (+tls,
# +https or +https-get), the CA verified; sets D_OUT, D_STATUS, D_ANSWER
dq() {
	local proto=$1 ca=$2 name=$3 type=${4:-A} port
	shift 3
	[ $# -gt 0 ] && shift
	if [ "$proto" = tls ]; then port=$TLS_PORT; else port=$HTTPS_PORT; fi
	D_OUT=$(dig @127.0.0.1 -p "$port" +"$proto" +tls-ca="$ca" +tls-hostname=dns.lab.test +norec \
		+time=5 +tries=1 "$@" "$name" "$type" 2>&1)
	D_STATUS=$(printf '%s\n' "$D_OUT" | sed -n 's/.*opcode: [A-Z]*, status: \([A-Z]*\),.*/\1/p' | head -n 1)
	D_ANSWER=$(printf '%s\n' "$D_OUT" | awk '/^;; ANSWER SECTION:/ { a = 1; next } /^;;/ || /^$/ { a = 0 } a' |
		tr -s ' \t' ' ')
}

# doh_url PORT NAME [TYPE] [ID]  the GET URL of a query (RFC 8484 4.1:
# base64url without padding)
doh_url() {
	local b
	b=$(LIBDIR=$LIBDIR python3 - "$2" "${3:-A}" "${4:-0}" <<'PY'
import base64, os, sys
sys.path.insert(0, os.environ["LIBDIR"])
from sendraw import build_query
q = build_query(sys.argv[1], sys.argv[2], qid=int(sys.argv[3]))
print(base64.urlsafe_b64encode(q).decode().rstrip("="))
PY
)
	printf 'https://127.0.0.1:%s/dns-query?dns=%s' "$1" "$b"
}
