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

printf "%-6s %-8s %9s %8s %7s %7s %8s %14s\n" round variant "req/s" "p99 ms" "cpu0 %" "cpu1 %" "proxy %" "req/proxy-cpu-s"
declare -A perproxy
for r in $(seq "$rounds"); do
	order=("${variants[@]}")
	((r % 2)) || order=(limited regex plain)
	for v in "${order[@]}"; do
		if ! m=$(measure_keepalive "${pid[$v]}" 0 1 "$conns" "$duration" "http://127.0.0.1:${port[$v]}/"); then
			echo "features: errors from the $v controller" >&2
			exit 1
		fi
		line=$(printf "%-6s %-8s %9s %8s %7s %7s %8s %14s" "$r" "$v" $m)
		echo "$line"
		perproxy[$r.$v]=$(awk '{ print $8 }' <<<"$line")
	done
done
for r in $(seq "$rounds"); do
	awk -v r="$r" -v p="${perproxy[$r.plain]}" -v x="${perproxy[$r.regex]}" -v l="${perproxy[$r.limited]}" 'BEGIN {
		printf "round %s: per proxy-CPU second regex/plain %.3fx, limited/plain %.3fx\n", r, x / p, l / p }'
done
