# shellcheck shell=bash
# The edge: Debian's nginx, a local certificate authority made on the fly, and the check of the
# production nginx configuration (infra/nginx). scripts/stack runs nginx in front of the real
# topology; scripts/test checks the rendered configuration with `nginx -t`.
#
# Source common.sh (or services.sh) before this file.

EDGE_RENDER=$PWD/infra/nginx/render

# Installs Debian's nginx when missing (Debian may also start it as a system service on port 80;
# Parley's scripts run instances of their own, under their own directories and ports).
ensure_nginx() {
    NGINX_BIN=$(command -v nginx || true)
    [ -n "$NGINX_BIN" ] || [ ! -x /usr/sbin/nginx ] || NGINX_BIN=/usr/sbin/nginx
    if [ -z "$NGINX_BIN" ]; then
        apt_install nginx
        NGINX_BIN=$(command -v nginx || echo /usr/sbin/nginx)
    fi
    command -v openssl >/dev/null || apt_install openssl
}

# Makes, in directory $1, a certificate authority (ca.pem, whose key never leaves the directory)
# and a certificate it signs for 127.0.0.1 and localhost (server.pem, server.key). Prints nothing.
local_ca() {
    local dir=$1
    mkdir -p "$dir"
    (
        cd "$dir"
        umask 077
        openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 \
            -keyout ca.key -out ca.pem -subj "/CN=Parley local CA" \
            -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null
        openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
            -keyout server.key -out server.csr -subj "/CN=127.0.0.1" 2>/dev/null
        printf '%s\n' "subjectAltName=IP:127.0.0.1,DNS:localhost" "extendedKeyUsage=serverAuth" \
            "basicConstraints=critical,CA:FALSE" "keyUsage=critical,digitalSignature" >server.ext
        openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 30 \
            -extfile server.ext -out server.pem 2>/dev/null
        rm -f server.csr server.ext ca.srl
        chmod 644 ca.pem server.pem
    ) || die "openssl could not make the local certificate authority in $dir"
}

# The base64 SHA-256 of the public key of the certificate $1: what Chromium's
# --ignore-certificate-errors-spki-list trusts.
spki_hash() {
    openssl x509 -in "$1" -pubkey -noout | openssl pkey -pubin -outform der | openssl dgst -sha256 -binary | base64
}

# Renders infra/nginx with placeholder upstreams and a fresh certificate, and runs `nginx -t` on
# it: the production configuration must load in Debian's nginx.
nginx_check() {
    ensure_nginx
    local dir
    dir=$(mktemp -d "${TMPDIR:-/tmp}/parley-nginx-check.XXXXXX")
    local_ca "$dir/tls"
    say "nginx -t on the rendered infra/nginx configuration"
    PARLEY_NGINX_SOCKET_NODES="10.0.0.1:8090 10.0.0.2:8090" PARLEY_NGINX_TENANT="10.0.0.1:8081,10.0.0.2:8081" \
        PARLEY_NGINX_CHATBOTS=10.0.0.1:8082 PARLEY_NGINX_ANALYTICS=10.0.0.1:8083 \
        PARLEY_NGINX_CERT="$dir/tls/server.pem" PARLEY_NGINX_KEY="$dir/tls/server.key" \
        PARLEY_NGINX_SERVER_NAME="chat.example.com" "$EDGE_RENDER" --standalone "$dir/nginx" ||
        die "infra/nginx/render failed"
    "$NGINX_BIN" -t -q -p "$dir/nginx" -c nginx.conf -e stderr || die "nginx -t refused the rendered configuration ($dir/nginx)"
    rm -rf "$dir"
}
