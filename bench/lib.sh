# Shared by the benchmark scripts: source it, don't run it.

# need_commands CMD... installs the Debian packages of the same names for
# the commands that are missing.
need_commands() {
	local need=() cmd sudo=
	for cmd in "$@"; do
		command -v "$cmd" >/dev/null || need+=("$cmd")
	done
	((${#need[@]})) || return 0
	[[ $(id -u) -eq 0 ]] || sudo=sudo
	$sudo apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${need[@]}" >/dev/null
}

# free_port prints a loopback TCP port that was free a moment ago.
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# bench_manifests DIR PORT [CERT KEY] writes DIR/bench.yaml: an Ingress for
# bench.example.com routing / to a Service whose one endpoint is
# 127.0.0.1:PORT; with CERT and KEY (PEM files) also TLS for that host,
# without the HTTP to HTTPS redirect.
bench_manifests() {
	local dir=$1 port=$2 cert=${3:-} key=${4:-} tls=""
	mkdir -p "$dir"
	if [[ -n $cert ]]; then
		tls='  tls:
  - {hosts: [bench.example.com], secretName: bench-tls}'
	fi
	{
		cat <<YAML
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: bench
  namespace: bench
  annotations: {ingress-controller.io/ssl-redirect: "false"}
spec:
  ingressClassName: ingress-controller
${tls:+$tls
}  rules:
  - host: bench.example.com
    http:
      paths:
      - {path: /, pathType: Prefix, backend: {service: {name: echo, port: {number: 80}}}}
---
apiVersion: v1
kind: Service
metadata: {name: echo, namespace: bench}
spec:
  ports: [{name: http, port: 80}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: echo-1, namespace: bench, labels: {kubernetes.io/service-name: echo}}
addressType: IPv4
ports: [{name: http, port: $port}]
endpoints: [{addresses: [127.0.0.1], conditions: {ready: true}}]
YAML
		if [[ -n $cert ]]; then
			cat <<YAML
---
apiVersion: v1
kind: Secret
metadata: {name: bench-tls, namespace: bench}
type: kubernetes.io/tls
stringData:
  tls.crt: |
$(sed 's/^/    /' "$cert")
  tls.key: |
$(sed 's/^/    /' "$key")
YAML
		fi
	} >"$dir/bench.yaml"
}

# bench_haproxy_cfg FILE BACKEND_PORT PORT [TLS_PORT PEM [no-resumption]]
# writes the hand-written reference HAProxy config: one thread,
# keep-alive, backend connections reused, 127.0.0.1:PORT (and TLS on
# TLS_PORT with the certificate and key in PEM) to 127.0.0.1:BACKEND_PORT.
# With no-resumption it neither issues session tickets nor caches
# sessions: every TLS handshake is a full one.
bench_haproxy_cfg() {
	local file=$1 backend=$2 port=$3 tls_port=${4:-} pem=${5:-} resumption=${6:-} tls_bind="" tune=""
	if [[ -n $tls_port ]]; then
		tls_bind="  bind 127.0.0.1:$tls_port ssl crt $pem alpn http/1.1"
		if [[ $resumption == no-resumption ]]; then
			tls_bind+=" no-tls-tickets"
			tune="  tune.ssl.cachesize 0"
		fi
	fi
	cat >"$file" <<CFG
global
  nbthread 1
  maxconn 4000
${tune:+$tune
}defaults
  mode http
  timeout connect 5s
  timeout client 30s
  timeout server 30s
  option http-keep-alive
frontend bench
  bind 127.0.0.1:$port
${tls_bind:+$tls_bind
}  default_backend responder
backend responder
  http-reuse always
  server r1 127.0.0.1:$backend
CFG
}

# bench_haproxy_eq_cfg FILE BACKEND_PORT PORT TLS_PORT PEM LUA [no-resumption]
# writes a hand-written HAProxy config that gives the guarantees the
# haproxy provider gives (docs/providers.md), written for this one host the
# way an operator would write them by hand rather than rendered for any
# config: a bounded request head (HAProxy's own 400 past tune.bufsize
# instead of an exact 431), ambiguous request targets refused, the path
# normalized with the query left as sent, hop-by-hop fields removed (LUA
# is the provider's hop-by-hop.lua: nothing built into HAProxy removes the
# fields a Connection field names), X-Forwarded-For (option forwardfor),
# X-Real-IP, X-Forwarded-Host, -Proto and -Port set, an Upgrade field
# dropped unless the Connection field asks for it or when it asks for h2c
# (h2c smuggling), a Server field where the backend sent none, routing by
# host with
# 404 for other hosts, and the keep-alive race retried for requests that
# may be sent twice. The same one thread, TLS settings and timeouts as the
# provider's. The haproxy provider's goal is 0.95x this config's requests
# per proxy-CPU second (see bench/run.sh).
bench_haproxy_eq_cfg() {
	local file=$1 backend=$2 port=$3 tls_port=$4 pem=$5 lua=$6 resumption=${7:-} tickets="" tune=""
	if [[ $resumption == no-resumption ]]; then
		tickets=" no-tls-tickets"
		tune="  tune.ssl.cachesize 0"
	fi
	cat >"$file" <<CFG
global
  nbthread 1
  maxconn 4000
  tune.bufsize 34816
  tune.maxrewrite 1024
  ssl-default-bind-options ssl-min-ver TLSv1.2
  ssl-default-bind-ciphers ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305
  ssl-default-bind-ciphersuites TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256
  ssl-default-bind-curves X25519:P-256:P-384
  expose-experimental-directives
  lua-load $lua
${tune:+$tune
}defaults
  mode http
  option redispatch
  retries 3
  timeout connect 5s
  timeout client 60s
  timeout server 60s
  timeout http-request 30s
  timeout http-keep-alive 60s
  http-reuse always
frontend bench
  bind 127.0.0.1:$port
  bind 127.0.0.1:$tls_port ssl crt $pem alpn h2,http/1.1$tickets
  option idle-close-on-response
  option forwardfor
  http-request deny deny_status 400 if { url -m reg [^\x21-\x7e] } || { url -m sub \# } || { path -m sub \\\\ } || { path -m reg -i %(2f|5c|[01][0-9a-f]|7f) }
  http-request set-var(txn.query) query if { query -m found }
  http-request normalize-uri percent-decode-unreserved strict
  http-request normalize-uri percent-to-uppercase strict
  http-request normalize-uri path-merge-slashes
  http-request normalize-uri path-strip-dot
  http-request normalize-uri path-strip-dotdot full
  http-request set-query %[var(txn.query)] if { var(txn.query) -m found }
  http-request lua.hop_by_hop_req if { req.hdr(connection) -m found }
  http-request del-header upgrade if !{ req.hdr(connection) -i upgrade } || { req.hdr(upgrade) -i h2c }
  http-request del-header te
  http-request del-header keep-alive
  http-request del-header proxy-authorization
  http-request del-header proxy-connection
  http-response lua.hop_by_hop_res if { res.hdr(connection) -m found }
  http-response del-header keep-alive
  http-response del-header proxy-authenticate
  http-response del-header proxy-connection
  http-response set-header server ingress-controller unless { res.hdr(server) -m found }
  http-request set-header X-Real-IP %[src]
  http-request set-header X-Forwarded-Host %[req.hdr(host)]
  http-request set-header X-Forwarded-Proto https if { ssl_fc }
  http-request set-header X-Forwarded-Proto http if !{ ssl_fc }
  http-request set-header X-Forwarded-Port %[dst_port]
  acl bench_host req.hdr(host),lower,regsub(:[0-9]+\$,) -m str bench.example.com
  http-request return status 404 content-type text/plain string "404 not found" unless bench_host
  use_backend responder
backend responder
  balance roundrobin
  retry-on conn-failure empty-response
  http-request disable-l7-retry if !METH_GET !METH_OPTIONS !METH_PUT !METH_DELETE !METH_TRACE
  server r1 127.0.0.1:$backend
CFG
}

# bench_nginx_cfg DIR BACKEND_PORT PORT TLS_PORT CERT KEY [no-resumption]
# writes DIR/nginx.conf, the hand-written reference nginx config, for
# `nginx -p DIR -c DIR/nginx.conf -e DIR/error.log`: in the foreground, one
# worker (it inherits the master's CPU affinity), no access log, its pid
# and temporary files in DIR; 127.0.0.1:PORT and HTTPS on TLS_PORT with
# CERT and KEY to 127.0.0.1:BACKEND_PORT over kept-alive HTTP/1.1
# connections. Client and backend connections live as long as HAProxy's
# (nginx's default closes them after 1000 requests). With no-resumption
# it neither issues session tickets nor caches sessions.
bench_nginx_cfg() {
	local dir=$1 backend=$2 port=$3 tls_port=$4 cert=$5 key=$6 resumption=${7:-}
	local sessions="ssl_session_cache shared:bench:10m;"
	if [[ $resumption == no-resumption ]]; then
		sessions="ssl_session_tickets off; ssl_session_cache off;"
	fi
	mkdir -p "$dir/tmp"
	cat >"$dir/nginx.conf" <<CFG
daemon off;
master_process on;
worker_processes 1;
pid $dir/nginx.pid;
error_log $dir/error.log warn;
events {
  worker_connections 4096;
}
http {
  access_log off;
  client_body_temp_path $dir/tmp/body;
  proxy_temp_path $dir/tmp/proxy;
  fastcgi_temp_path $dir/tmp/fastcgi;
  uwsgi_temp_path $dir/tmp/uwsgi;
  scgi_temp_path $dir/tmp/scgi;
  keepalive_requests 1000000;
  upstream responder {
    server 127.0.0.1:$backend;
    keepalive 64;
    keepalive_requests 1000000;
  }
  server {
    listen 127.0.0.1:$port;
    listen 127.0.0.1:$tls_port ssl;
    ssl_certificate $cert;
    ssl_certificate_key $key;
    ssl_protocols TLSv1.2 TLSv1.3;
    $sessions
    location / {
      proxy_pass http://responder;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host \$host;
    }
  }
}
CFG
}

# measure_keepalive PID LOAD_CPUS THREADS CONNS DURATION URL measures the
# proxy process PID with wrk on LOAD_CPUS (THREADS threads, CONNS
# connections, a 1 s warm-up, then DURATION seconds) and prints
# "req/s p99-ms cpu0-% cpu1-% proxy-% req-per-proxy-cpu-s": each core's
# busy share (/proc/stat, all but idle and iowait) and the proxy's own
# CPU time (utime+stime, /proc/PID/stat) over the run. Errors or non-2xx
# answers print wrk's output and fail.
measure_keepalive() {
	local pid=$1 cpus=$2 threads=$3 conns=$4 duration=$5 url=$6 out b0 b1 t0 t1 a0 a1 u0 u1 c0 c1 rps p99
	busy() { awk '/^cpu[01] / { b = 0; for (i = 2; i <= NF; i++) if (i != 5 && i != 6) b += $i; printf "%d ", b } END { print "" }' /proc/stat; }
	total() { awk '/^cpu[01] / { b = 0; for (i = 2; i <= NF; i++) b += $i; printf "%d ", b } END { print "" }' /proc/stat; }
	cputime() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
	taskset -c "$cpus" wrk -t"$threads" -c"$conns" -d1s -H 'Host: bench.example.com' "$url" >/dev/null
	read -r b0 b1 < <(busy)
	read -r t0 t1 < <(total)
	c0=$(cputime "$pid")
	out=$(taskset -c "$cpus" wrk -t"$threads" -c"$conns" -d"${duration}s" --latency -H 'Host: bench.example.com' "$url")
	c1=$(cputime "$pid")
	read -r a0 a1 < <(busy)
	read -r u0 u1 < <(total)
	if grep -q -e 'Non-2xx' -e 'Socket errors' <<<"$out"; then
		echo "$out" >&2
		return 1
	fi
	read -r rps p99 < <(awk '
		function ms(v) { if (v ~ /us$/) return v/1000; if (v ~ /ms$/) return v+0; if (v ~ /s$/) return v*1000; return v }
		/^Requests\/sec/ { rps = $2 } /^ +99%/ { p99 = ms($2) } END { print rps, p99 }' <<<"$out")
	awk -v rps="$rps" -v p99="$p99" -v b0=$((a0 - b0)) -v b1=$((a1 - b1)) -v t0=$((u0 - t0)) -v t1=$((u1 - t1)) \
		-v proxy=$((c1 - c0)) -v hz="$(getconf CLK_TCK)" -v d="$duration" 'BEGIN {
		share = proxy / hz / d
		printf "%.0f %.3f %.1f %.1f %.1f %.0f\n", rps, p99, 100 * b0 / t0, 100 * b1 / t1, 100 * share, rps / share }'
}
