#!/usr/bin/env bash
# What the regex mode and the rate limiter cost the builtin proxy's
# keep-alive throughput: three controllers from the same build, serving
# the same Ingress plain, in regex mode (ingress-controller.io/use-regex,
# so "/" is the pattern "(?i)/"), and with a rate limit no request reaches
# (ingress-controller.io/limit-rps: 1000000, checked and counted on every
# request), measured alternately in one run so that the machine's drift
# hits all alike. As bench/ab.sh: the proxy under test gets CPU 1 and one
# thread, wrk and the backend (bench/responder, never the limit) CPU 0;
# per measurement requests/s, p99, each core's busy share, the proxy's own
# CPU time and requests per proxy-CPU second; then per round each
# feature's ratio to the plain route.
#
#   BENCH_DURATION     seconds per measurement (default 10)
#   BENCH_ROUNDS       rounds (default 3)
#   BENCH_CONNECTIONS  concurrent connections (default 50)
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
duration=${BENCH_DURATION:-10}
rounds=${BENCH_ROUNDS:-3}
conns=${BENCH_CONNECTIONS:-50}

. bench/lib.sh
need_commands wrk curl

work=$(mktemp -d)
pids=()
cleanup() {
	for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT

go build -o "$work/ingress-controller" ./cmd/ingress-controller
go build -o "$work/responder" ./bench/responder
backend_port=$(free_port)
GOMAXPROCS=1 taskset -c 0 "$work/responder" -listen "127.0.0.1:$backend_port" -size 100 2>/dev/null &
pids+=($!)

variants=(plain regex limited)
declare -A annotation=(
	[plain]=''
	[regex]=', ingress-controller.io/use-regex: "true"'
	[limited]=', ingress-controller.io/limit-rps: "1000000"'
)
declare -A port pid
for v in "${variants[@]}"; do
	bench_manifests "$work/$v" "$backend_port"
	sed -i "s|annotations: {ingress-controller.io/ssl-redirect: \"false\"}|annotations: {ingress-controller.io/ssl-redirect: \"false\"${annotation[$v]}}|" "$work/$v/bench.yaml"
	sed -i 's|^      - {path: /, pathType: Prefix, backend: {service: {name: echo, port: {number: 80}}}}$|&\n      - {path: /nope, pathType: Prefix, backend: {service: {name: empty, port: {number: 80}}}}|' "$work/$v/bench.yaml"
	cat >>"$work/$v/bench.yaml" <<'YAML'
---
apiVersion: v1
kind: Service
metadata: {name: empty, namespace: bench}
spec:
  ports: [{name: http, port: 80}]
YAML
	port[$v]=$(free_port)
	GOMAXPROCS=1 taskset -c 1 "$work/ingress-controller" --source=file --manifests="$work/$v" \
		--http-port="${port[$v]}" --https-port="$(free_port)" --listen-address=127.0.0.1 --log-level=warn \
		--metrics-addr="127.0.0.1:$(free_port)" &
	pid[$v]=$!
	pids+=($!)
done
for v in "${variants[@]}"; do
	for i in $(seq 100); do
		curl -fsS -o /dev/null -H 'Host: bench.example.com' "http://127.0.0.1:${port[$v]}/" 2>/dev/null && break
		[[ $i == 100 ]] && { echo "features: the $v controller never answered" >&2; exit 1; }
		sleep 0.1
	done
done
# Each Ingress has a second path, /nope, to a Service without endpoints
# (503): in regex mode it is the pattern "(?i)/nope", tried before "/" on
# every request, and it takes /nopex too, which the plain route "/" takes
# otherwise. That checks each variant is in the mode it names.
for v in "${variants[@]}"; do
	code=$(curl -s -o /dev/null -w '%{http_code}' -H 'Host: bench.example.com' "http://127.0.0.1:${port[$v]}/nopex")
	want=200
	[[ $v == regex ]] && want=503
	if [[ $code != "$want" ]]; then
		echo "features: GET /nopex from the $v controller answered $code, want $want" >&2
		exit 1
	fi
done

busy() { awk '/^cpu[01] / { b = 0; for (i = 2; i <= NF; i++) if (i != 5 && i != 6) b += $i; printf "%d ", b } END { print "" }' /proc/stat; }
total() { awk '/^cpu[01] / { b = 0; for (i = 2; i <= NF; i++) b += $i; printf "%d ", b } END { print "" }' /proc/stat; }
cputime() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }

hz=$(getconf CLK_TCK)
printf "%-6s %-8s %9s %8s %7s %7s %8s %14s\n" round variant "req/s" "p99 ms" "cpu0 %" "cpu1 %" "proxy %" "req/proxy-cpu-s"
declare -A perproxy
for r in $(seq "$rounds"); do
	order=("${variants[@]}")
	((r % 2)) || order=(limited regex plain)
	for v in "${order[@]}"; do
		url="http://127.0.0.1:${port[$v]}/"
		taskset -c 0 wrk -t1 -c"$conns" -d1s -H 'Host: bench.example.com' "$url" >/dev/null
		read -r b0 b1 < <(busy)
		read -r t0 t1 < <(total)
		c0=$(cputime "${pid[$v]}")
		out=$(taskset -c 0 wrk -t1 -c"$conns" -d"${duration}s" --latency -H 'Host: bench.example.com' "$url")
		c1=$(cputime "${pid[$v]}")
		read -r a0 a1 < <(busy)
		read -r u0 u1 < <(total)
		if grep -q -e 'Non-2xx' -e 'Socket errors' <<<"$out"; then
			echo "features: errors from the $v controller:" >&2
			echo "$out" >&2
			exit 1
		fi
		read -r rps p99 < <(awk '
			function ms(v) { if (v ~ /us$/) return v/1000; if (v ~ /ms$/) return v+0; if (v ~ /s$/) return v*1000; return v }
			/^Requests\/sec/ { rps = $2 } /^ +99%/ { p99 = ms($2) } END { print rps, p99 }' <<<"$out")
		line=$(awk -v rps="$rps" -v p99="$p99" -v b0=$((a0 - b0)) -v b1=$((a1 - b1)) -v t0=$((u0 - t0)) -v t1=$((u1 - t1)) \
			-v proxy=$((c1 - c0)) -v hz="$hz" -v d="$duration" -v r="$r" -v v="$v" 'BEGIN {
			share = proxy / hz / d
			printf "%-6s %-8s %9.0f %8.3f %7.1f %7.1f %8.1f %14.0f\n", r, v, rps, p99, 100 * b0 / t0, 100 * b1 / t1, 100 * share, rps / share }')
		echo "$line"
		perproxy[$r.$v]=$(awk '{ print $8 }' <<<"$line")
	done
done
for r in $(seq "$rounds"); do
	awk -v r="$r" -v p="${perproxy[$r.plain]}" -v x="${perproxy[$r.regex]}" -v l="${perproxy[$r.limited]}" 'BEGIN {
		printf "round %s: per proxy-CPU second regex/plain %.3fx, limited/plain %.3fx\n", r, x / p, l / p }'
done
