#!/usr/bin/env bash
# Creates a production-style PKI for gongjid with the openssl command line:
#   ca.pem / ca-key.pem            the CA (keep ca-key.pem offline)
#   server.pem / server-key.pem    the daemon's certificate for the given host names
#   <role>.pem / <role>-key.pem    one client certificate per role; its CN is the identity to
#                                  list under `roles` in gongjid.json5
# Usage: make-pki.sh OUT_DIR SERVER_HOST[,MORE_HOSTS] [gateway=ID] [reviewer=ID] [operator=ID] [settlement=ID]
# Re-running with an existing OUT_DIR keeps the CA and issues new leaf certificates (rotation).
set -euo pipefail
out=${1:?usage: make-pki.sh OUT_DIR SERVER_HOSTS [role=identity ...]}
hosts=${2:?server host names, comma-separated}
shift 2
roles=("$@")
[ ${#roles[@]} -gt 0 ] || roles=(gateway=gongji-gateway reviewer=gongji-reviewer operator=gongji-operator settlement=gongji-settlement-hub)
days=${DAYS:-397}
mkdir -p "$out"
umask 077
cd "$out"

if [ ! -f ca.pem ]; then
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca-key.pem -out ca.pem \
    -subj "/O=Gongji/CN=Gongji CA" -days 3650 \
    -addext "basicConstraints=critical,CA:TRUE,pathlen:0" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
fi

issue() {  # name subject san extendedKeyUsage
  local name=$1 subject=$2 san=$3 usage=$4 ext
  ext=$(mktemp)
  printf 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=%s\nsubjectAltName=%s\nauthorityKeyIdentifier=keyid\nsubjectKeyIdentifier=hash\n' \
    "$usage" "$san" > "$ext"
  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$name-key.pem" -out "$name.csr" -subj "$subject" 2>/dev/null
  openssl x509 -req -in "$name.csr" -CA ca.pem -CAkey ca-key.pem -CAcreateserial -days "$days" -extfile "$ext" -out "$name.pem" 2>/dev/null
  rm -f "$name.csr" "$ext"
}

san=""
IFS=, read -ra names <<< "$hosts"
for host in "${names[@]}"; do
  if [[ $host =~ ^[0-9.]+$ ]]; then san+="IP:$host,"; else san+="DNS:$host,"; fi
done
issue server "/O=Gongji/CN=${names[0]}" "${san%,}" serverAuth
for entry in "${roles[@]}"; do
  role=${entry%%=*}; identity=${entry#*=}
  issue "$role" "/O=Gongji/CN=$identity" "DNS:$identity" clientAuth
done
chmod 644 ./*.pem; chmod 600 ./*-key.pem
echo "PKI in $out: ca.pem, server.pem (${hosts}), ${roles[*]}"
