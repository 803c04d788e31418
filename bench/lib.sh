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
