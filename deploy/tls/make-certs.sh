#!/bin/sh
# Makes a private CA and a server certificate for the egov platforms (and, with `client NAME`,
# a client certificate for mutual TLS), with openssl, in this script's directory or $EGOV_TLS_DIR.
# For trials and internal networks; a city with its own PKI issues these instead.
#
#   deploy/tls/make-certs.sh server approval.internal supervision.internal   # + localhost, 127.0.0.1
#   deploy/tls/make-certs.sh client centre-330106                           # mutual TLS client
#
# Files: ca.pem / ca.key (the CA: keep ca.key offline), server.pem / server.key,
# clients/NAME.pem / clients/NAME.key. Rotation: run `server ...` again; the platforms take the
# new files within 5 s (or at once on SIGHUP), see deploy/README.md.
set -eu
dir=${EGOV_TLS_DIR:-$(dirname "$0")}
days=${EGOV_TLS_DAYS:-397}
cd "$dir"
umask 077

if [ ! -f ca.pem ]; then
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 3650 \
        -subj "/CN=egov private CA" -keyout ca.key -out ca.pem \
        -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign"
    chmod 0644 ca.pem
fi

issue() { # issue NAME SUBJECT EXTENSIONS
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "$2" \
        -keyout "$1.key.new" -out "$1.csr"
    printf '%s\n' "$3" > "$1.ext"
    openssl x509 -req -in "$1.csr" -CA ca.pem -CAkey ca.key -CAcreateserial -days "$days" \
        -extfile "$1.ext" -out "$1.pem.new"
    rm -f "$1.csr" "$1.ext"
    # Key first, then the certificate, each renamed over the old one: a platform polling the
    # files never loads half a file, and takes the pair once both are in place.
    mv "$1.key.new" "$1.key"
    mv "$1.pem.new" "$1.pem"
    chmod 0644 "$1.pem"
}

case "${1:-}" in
server)
    shift
    sans="DNS:localhost,IP:127.0.0.1"
    for name in "$@"; do sans="$sans,DNS:$name"; done
    issue server "/CN=${1:-localhost}" \
        "subjectAltName=$sans
extendedKeyUsage=serverAuth"
    echo "server.pem / server.key for $sans, signed by ca.pem"
    ;;
client)
    [ -n "${2:-}" ] || { echo "usage: $0 client NAME" >&2; exit 2; }
    mkdir -p clients
    issue "clients/$2" "/CN=$2" "extendedKeyUsage=clientAuth"
    echo "clients/$2.pem / clients/$2.key (subject $2), signed by ca.pem"
    ;;
*)
    echo "usage: $0 server [DNS-NAME...] | client NAME" >&2
    exit 2
    ;;
esac
