# A throwaway docker-registry (Debian's docker-registry package) for the
# pull tests. Source it after lib.sh:
#   registry_start [HTPASSWD]   start one on 127.0.0.1 at a free port with a
#                               temp config and storage dir; sets REGISTRY
#                               (host:port), REGISTRY_DIR, REGISTRY_PID; it is
#                               stopped by its PID when the test exits. With
#                               TEST_REGISTRY_TLS=1 it serves HTTPS with a fresh
#                               self-signed certificate (REGISTRY_DIR/cert.pem)
#   registry_stop               kill it (SIGKILL: a registry that dies)
#   registry_restart            start it again on the same port and storage
#   registry_push SRC NAME:TAG  skopeo copy SRC (e.g. oci:DIR:ref) into it
#   registry_blob_path DIGEST   the file that holds a blob in its storage
need docker-registry skopeo curl python3 openssl

_registry_free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

registry_start() {
	registry_stop # one at a time: a second start replaces the first
	REGISTRY_DIR=$(mktemp -d "$TESTTMP/registry.XXXXXX")
	_registry_port=$(_registry_free_port)
	REGISTRY=127.0.0.1:$_registry_port
	mkdir -p "$REGISTRY_DIR/data"
	{
		echo "version: 0.1"
		echo "log: {level: error, accesslog: {disabled: true}}"
		echo "storage:"
		echo "  filesystem: {rootdirectory: $REGISTRY_DIR/data}"
		echo "  delete: {enabled: true}"
		echo "  cache: {}"
		echo "http:"
		echo "  addr: $REGISTRY"
		if [ "${TEST_REGISTRY_TLS:-0}" = 1 ]; then
			echo "  tls: {certificate: $REGISTRY_DIR/cert.pem, key: $REGISTRY_DIR/key.pem}"
		fi
		if [ -n "${1:-}" ]; then
			echo "auth:"
			echo "  htpasswd: {realm: cowbox-test, path: $1}"
		fi
	} >"$REGISTRY_DIR/config.yml"
	REGISTRY_SCHEME=http
	if [ "${TEST_REGISTRY_TLS:-0}" = 1 ]; then
		REGISTRY_SCHEME=https
		openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=127.0.0.1 \
			-addext subjectAltName=IP:127.0.0.1 -keyout "$REGISTRY_DIR/key.pem" \
			-out "$REGISTRY_DIR/cert.pem" >/dev/null 2>&1 || fail "openssl could not make a certificate"
	fi
	registry_restart
	[ -n "${_registry_on_exit:-}" ] || on_exit registry_stop
	_registry_on_exit=1
}

registry_restart() {
	# docker-registry reads REGISTRY_* variables as configuration (the
	# tests' REGISTRY_AUTH_FILE would be one): give it a clean environment.
	env -i PATH="$PATH" docker-registry serve "$REGISTRY_DIR/config.yml" >>"$REGISTRY_DIR/log" 2>&1 &
	REGISTRY_PID=$!
	i=0
	# Any HTTP answer (200 or 401) means it is up.
	until [ "$(curl -sk -o /dev/null -w '%{http_code}' "$REGISTRY_SCHEME://$REGISTRY/v2/")" != 000 ]; do
		i=$((i + 1))
		[ $i -lt 100 ] || { cat "$REGISTRY_DIR/log" >&2; fail "docker-registry did not start"; }
		kill -0 "$REGISTRY_PID" 2>/dev/null || { cat "$REGISTRY_DIR/log" >&2; fail "docker-registry exited"; }
		sleep 0.1
	done
}

registry_stop() {
	if [ -n "${REGISTRY_PID:-}" ] && kill -0 "$REGISTRY_PID" 2>/dev/null; then
		kill -9 "$REGISTRY_PID" 2>/dev/null || true
		wait "$REGISTRY_PID" 2>/dev/null || true
	fi
	REGISTRY_PID=
}

# registry_push SRC NAME:TAG [skopeo copy options...]
registry_push() {
	_src=$1 _dst=$2
	shift 2
	skopeo copy -q --dest-tls-verify=false "$@" "$_src" "docker://$REGISTRY/$_dst" >/dev/null ||
		fail "skopeo copy $_src to $REGISTRY/$_dst failed"
}

registry_blob_path() {
	_hex=${1#sha256:}
	echo "$REGISTRY_DIR/data/docker/registry/v2/blobs/sha256/$(echo "$_hex" | cut -c1-2)/$_hex/data"
}

# The config digest manifest.txt lists for FILE and REF.
fixture_config() {
	awk -v f="$1" -v r="$2" '$1 == f && $2 == r { print $4 }' "$FIXTURES/manifest.txt"
}
fixture_manifest() {
	awk -v f="$1" -v r="$2" '$1 == f && $2 == r { print $3 }' "$FIXTURES/manifest.txt"
}
