#!/bin/sh
# gen-ca.sh DIR -- a throw-away certificate authority and a server certificate
# for 127.0.0.1 / ::1 / localhost, for the fake ARM server of the tests.
#   DIR/ca.pem          the CA certificate (give it to plinkfwd as ca-file:)
#   DIR/server.pem      server certificate (signed by the CA)
#   DIR/server.key      its key
# Keys are EC P-256: fast to generate on every test run.
set -eu
dir=${1:?usage: gen-ca.sh DIR}
mkdir -p "$dir"
cd "$dir"
umask 077
openssl ecparam -name prime256v1 -genkey -noout -out ca.key 2>/dev/null
openssl req -x509 -new -key ca.key -sha256 -days 2 -subj "/CN=plinkfwd test CA" \
	-addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
	-out ca.pem 2>/dev/null
openssl ecparam -name prime256v1 -genkey -noout -out server.key 2>/dev/null
openssl req -new -key server.key -subj "/CN=localhost" -out server.csr 2>/dev/null
cat >server.ext <<'EXT'
basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=serverAuth
subjectAltName=IP:127.0.0.1,IP:::1,DNS:localhost
EXT
openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -sha256 -days 2 \
	-extfile server.ext -out server.pem 2>/dev/null
rm -f server.csr server.ext ca.srl
chmod 644 ca.pem server.pem
