#!/usr/bin/env bash
# HTTP throughput benchmark, one run, four paths to the same backend
# (bench/responder: 100-byte answers straight off the socket, never the
# limit):
#   direct        wrk -> backend
#   builtin       wrk -> ingress-controller (file source, builtin provider) -> backend
#   haproxy-cfg   wrk -> a hand-written HAProxy config (Debian haproxy) -> backend
#   haproxy-prov  wrk -> HAProxy run by ingress-controller --provider=haproxy
#                 (same manifests, the config it renders) -> backend
# Two workloads: plain HTTP/1.1 keep-alive with small responses, and HTTPS
# with a new connection (TLS 1.3, ECDSA P-256) for every request; wrk
# resumes TLS sessions from the tickets the servers issue, so these are
# mostly resumed handshakes. Prints requests/s, p50 and p99 for each, each
# core's busy share (/proc/stat) and requests per proxy-CPU second, and the
# ratios. The proxy
# under test is pinned to CPU 0 with one thread (HAProxy takes its thread
# count from the CPUs it may use: one); wrk and the backend share CPU 1 in
# every run, so the ratios compare like with like on a 2-core machine. The
# proxies not under test are idle meanwhile.
#
#   BENCH_DURATION     seconds per measurement (default 10)
#   BENCH_CONNECTIONS  concurrent connections (default 50)
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
duration=${BENCH_DURATION:-10}
conns=${BENCH_CONNECTIONS:-50}

. bench/lib.sh
need_commands openssl wrk haproxy curl

work=$(mktemp -d)
pids=()
cleanup() {
	for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
	wait 2>/dev/null || true
	# The haproxy provider stops its HAProxy on SIGTERM; should the
	# controller have died first, its master is stopped here by its pid.
	if [[ -s "$work/hx/haproxy.pid" ]]; then
		hxpid=$(cat "$work/hx/haproxy.pid")
		if kill -0 "$hxpid" 2>/dev/null && grep -q "$work/hx" "/proc/$hxpid/cmdline" 2>/dev/null; then
			kill "$hxpid" 2>/dev/null || true
		fi
	fi
	rm -rf "$work"
}
trap cleanup EXIT

backend_port=$(free_port)
proxy_port=$(free_port)
proxy_tls_port=$(free_port)
haproxy_port=$(free_port)
haproxy_tls_port=$(free_port)
prov_port=$(free_port)
prov_tls_port=$(free_port)

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 \
	-subj /CN=bench.example.com -addext subjectAltName=DNS:bench.example.com \
	-keyout "$work/key.pem" -out "$work/cert.pem" 2>/dev/null
cat "$work/cert.pem" "$work/key.pem" >"$work/haproxy.pem"

go build -o "$work/ingress-controller" ./cmd/ingress-controller
go build -o "$work/responder" ./bench/responder

bench_manifests "$work/manifests" "$backend_port" "$work/cert.pem" "$work/key.pem"

bench_haproxy_cfg "$work/haproxy.cfg" "$backend_port" "$haproxy_port" "$haproxy_tls_port" "$work/haproxy.pem"

GOMAXPROCS=1 taskset -c 1 "$work/responder" -listen 127.0.0.1:$backend_port -size 100 2>/dev/null &
pids+=($!)
GOMAXPROCS=1 taskset -c 0 "$work/ingress-controller" --source=file --manifests="$work/manifests" \
	--http-port="$proxy_port" --https-port="$proxy_tls_port" --listen-address=127.0.0.1 --log-level=warn \
	--metrics-addr="127.0.0.1:$(free_port)" &
pids+=($!)
# HAProxy inherits the controller's CPU affinity: CPU 0, one thread.
GOMAXPROCS=1 taskset -c 0 "$work/ingress-controller" --source=file --manifests="$work/manifests" \
	--provider=haproxy --haproxy-dir="$work/hx" \
	--http-port="$prov_port" --https-port="$prov_tls_port" --listen-address=127.0.0.1 --log-level=warn \
	--metrics-addr="127.0.0.1:$(free_port)" &
pids+=($!)
taskset -c 0 haproxy -f "$work/haproxy.cfg" -db >/dev/null 2>&1 &
pids+=($!)

for url in "http://127.0.0.1:$backend_port/" "http://127.0.0.1:$proxy_port/" "http://127.0.0.1:$haproxy_port/" \
	"http://127.0.0.1:$prov_port/" "https://bench.example.com:$proxy_tls_port/" "https://bench.example.com:$haproxy_tls_port/" \
	"https://bench.example.com:$prov_tls_port/"; do
	for i in $(seq 100); do
		port=${url##*:}
		port=${port%/}
		curl -fsSk -o /dev/null -H 'Host: bench.example.com' --resolve "bench.example.com:$port:127.0.0.1" "$url" 2>/dev/null && break
		[[ $i == 100 ]] && { echo "bench: $url never answered" >&2; exit 1; }
		sleep 0.1
	done
done

# busy prints the busy and total jiffies of CPU 0 and CPU 1 (busy: all but
# idle and iowait), from /proc/stat.
busy() { awk '/^cpu[01] / { b = 0; t = 0; for (i = 2; i <= NF; i++) { t += $i; if (i != 5 && i != 6) b += $i } printf "%d %d ", b, t } END { print "" }' /proc/stat; }

# measure NAME URL [wrk args] -> prints "NAME rps p50 p99 cpu0% cpu1%"
# (latencies in ms; each core's busy share during the run)
measure() {
	local name=$1 url=$2 out b0 t0 b1 t1 c0 u0 c1 u1
	shift 2
	taskset -c 1 wrk -t1 -c"$conns" -d2s -H 'Host: bench.example.com' "$@" "$url" >/dev/null # warm up
	read -r b0 t0 b1 t1 < <(busy)
	out=$(taskset -c 1 wrk -t1 -c"$conns" -d"${duration}s" --latency -H 'Host: bench.example.com' "$@" "$url")
	read -r c0 u0 c1 u1 < <(busy)
	if grep -q 'Non-2xx' <<<"$out"; then
		echo "bench: $name answered non-2xx responses:" >&2
		echo "$out" >&2
		exit 1
	fi
	awk -v name="$name" -v cpu0=$(((c0 - b0) * 1000 / (u0 - t0))) -v cpu1=$(((c1 - b1) * 1000 / (u1 - t1))) '
		function ms(v) { if (v ~ /us$/) return v/1000; if (v ~ /ms$/) return v+0; if (v ~ /s$/) return v*1000; return v }
		/Requests\/sec/ { rps = $2 }
		/^ +50%/ { p50 = ms($2) }
		/^ +99%/ { p99 = ms($2) }
		/Socket errors/ { errs = $0 }
		END { printf "%s %.0f %.3f %.3f %.1f %.1f\n", name, rps, p50, p99, cpu0 / 10, cpu1 / 10; if (errs != "") print "  " errs > "/dev/stderr" }
	' <<<"$out"
}

# report TITLE RESULTS -> the table and the ratios. The proxy has CPU 0 to
# itself (direct: the backend has CPU 1, shared with wrk), so requests per
# proxy-CPU second are req/s over CPU 0's busy share.
report() {
	echo "$1"
	awk '
		{ rps[$1] = $2; p50[$1] = $3; p99[$1] = $4; c0[$1] = $5; c1[$1] = $6; per[$1] = ($5 > 0 ? $2 * 100 / $5 : 0); order[NR] = $1 }
		END {
			printf "%-13s %10s %9s %9s %7s %7s %16s\n", "path", "req/s", "p50 ms", "p99 ms", "cpu0 %", "cpu1 %", "req/proxy-cpu-s"
			for (i = 1; i <= NR; i++) { n = order[i]; printf "%-13s %10d %9.3f %9.3f %7.1f %7.1f %16s\n", n, rps[n], p50[n], p99[n], c0[n], c1[n], (n == "direct" ? "-" : sprintf("%.0f", per[n])) }
			if ("direct" in rps) printf "builtin/direct            throughput %.2fx\n", rps["builtin"] / rps["direct"]
			printf "builtin/haproxy-cfg       throughput %.2fx  per proxy-CPU second %.2fx  p99 %.2fx\n", rps["builtin"] / rps["haproxy-cfg"], per["builtin"] / per["haproxy-cfg"], p99["builtin"] / p99["haproxy-cfg"]
			printf "haproxy-prov/haproxy-cfg  throughput %.3fx  per proxy-CPU second %.3fx  p99 %.2fx  (goal: at least 0.95x)\n", rps["haproxy-prov"] / rps["haproxy-cfg"], per["haproxy-prov"] / per["haproxy-cfg"], p99["haproxy-prov"] / p99["haproxy-cfg"]
			if ("direct" in rps) printf "haproxy-cfg/direct        throughput %.2fx\n", rps["haproxy-cfg"] / rps["direct"]
		}
	' <<<"$2"
}

results=$( {
	measure direct "http://127.0.0.1:$backend_port/"
	measure builtin "http://127.0.0.1:$proxy_port/"
	measure haproxy-cfg "http://127.0.0.1:$haproxy_port/"
	measure haproxy-prov "http://127.0.0.1:$prov_port/"
} )
report "HTTP keep-alive, ${conns} connections, ${duration}s each; proxy on CPU 0, wrk + backend on CPU 1" "$results"
echo
# A new TLS connection per request: the handshake dominates, on both.
results=$( {
	measure builtin "https://127.0.0.1:$proxy_tls_port/" -H 'Connection: close'
	measure haproxy-cfg "https://127.0.0.1:$haproxy_tls_port/" -H 'Connection: close'
	measure haproxy-prov "https://127.0.0.1:$prov_tls_port/" -H 'Connection: close'
} )
report "HTTPS, a new connection per request (TLS 1.3, P-256), ${conns} connections, ${duration}s each" "$results"
