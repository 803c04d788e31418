#!/usr/bin/env bash
# A/B benchmark of the builtin proxy: the controller built from a base git
# revision against the one built from the work tree, and a hand-written
# HAProxy config (one thread) as the reference, keep-alive HTTP/1.1 with
# small responses, in one run, alternating, so that the machine's drift
# hits all alike. The proxy under test gets CPU 1 and one thread;
# wrk and the backend (bench/responder, which answers straight off the
# socket and is never the limit) share CPU 0. For every measurement it
# prints requests/s, p99, each core's busy share (from /proc/stat) and the
# proxy's own CPU time (from /proc/PID/stat), and requests per proxy-CPU
# second, the figure to compare; then, for each round, the after/before
# ratio and each build's ratio to HAProxy.
#
#   bench/ab.sh [BASE_REV]   (default HEAD: the work tree's changes)
#   BENCH_DURATION  seconds per measurement (default 10)
#   BENCH_ROUNDS    rounds (default 3)
#   BENCH_CONNECTIONS concurrent connections (default 50)
#   BENCH_THREADS   2: every proxy gets two threads (GOMAXPROCS=2, HAProxy's
#                   nbthread from its CPUs) and both CPUs, shared with wrk
#                   (two threads) and the backend; for information only,
#                   the machine's two cores are the limit (default 1)
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
base=${1:-HEAD}
duration=${BENCH_DURATION:-10}
rounds=${BENCH_ROUNDS:-3}
conns=${BENCH_CONNECTIONS:-50}
threads=${BENCH_THREADS:-1}
case $threads in
1) proxy_cpus=1 load_cpus=0 ;;
2) proxy_cpus=0,1 load_cpus=0,1 ;;
*) echo "ab: BENCH_THREADS is 1 or 2" >&2; exit 1 ;;
esac

. bench/lib.sh
need_commands wrk curl haproxy

work=$(mktemp -d)
pids=()
cleanup() {
	for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
	wait 2>/dev/null || true
	git worktree remove --force "$work/base-src" 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT


git worktree add -q --detach "$work/base-src" "$base"
(cd "$work/base-src" && go build -o "$work/before" ./cmd/ingress-controller)
go build -o "$work/after" ./cmd/ingress-controller
go build -o "$work/responder" ./bench/responder

backend_port=$(free_port)
GOMAXPROCS=$threads taskset -c "$load_cpus" "$work/responder" -listen "127.0.0.1:$backend_port" -size 100 2>/dev/null &
pids+=($!)

bench_manifests "$work/manifests" "$backend_port"
declare -A port pid
for build in before after; do
	port[$build]=$(free_port)
	GOMAXPROCS=$threads taskset -c "$proxy_cpus" "$work/$build" --source=file --manifests="$work/manifests" \
		--http-port="${port[$build]}" --https-port="$(free_port)" --listen-address=127.0.0.1 --log-level=warn \
		--metrics-addr="127.0.0.1:$(free_port)" &
	pid[$build]=$!
	pids+=($!)
done
port[haproxy]=$(free_port)
bench_haproxy_cfg "$work/haproxy.cfg" "$backend_port" "${port[haproxy]}"
taskset -c "$proxy_cpus" haproxy -f "$work/haproxy.cfg" -db >/dev/null 2>&1 &
pid[haproxy]=$!
pids+=($!)

builds=(before after haproxy)
for build in "${builds[@]}"; do
	for i in $(seq 100); do
		curl -fsS -o /dev/null -H 'Host: bench.example.com' "http://127.0.0.1:${port[$build]}/" 2>/dev/null && break
		[[ $i == 100 ]] && { echo "ab: the $build build never answered" >&2; exit 1; }
		sleep 0.1
	done
done

printf "%-6s %-6s %9s %8s %7s %7s %8s %14s\n" round build "req/s" "p99 ms" "cpu0 %" "cpu1 %" "proxy %" "req/proxy-cpu-s"
declare -A perproxy
for r in $(seq "$rounds"); do
	order=("${builds[@]}")
	# Every other round in reverse order, so that neither build always
	# runs first after the other's load.
	((r % 2)) || order=(haproxy after before)
	for build in "${order[@]}"; do
		if ! m=$(measure_keepalive "${pid[$build]}" "$load_cpus" "$threads" "$conns" "$duration" "http://127.0.0.1:${port[$build]}/"); then
			echo "ab: errors from the $build build" >&2
			exit 1
		fi
		line=$(printf "%-6s %-6s %9s %8s %7s %7s %8s %14s" "$r" "$build" $m)
		echo "$line"
		perproxy[$r.$build]=$(awk '{ print $8 }' <<<"$line")
	done
done
for r in $(seq "$rounds"); do
	awk -v r="$r" -v a="${perproxy[$r.after]}" -v b="${perproxy[$r.before]}" -v h="${perproxy[$r.haproxy]}" 'BEGIN {
		printf "round %s: per proxy-CPU second after/before %.3fx, before/haproxy %.3fx, after/haproxy %.3fx\n", r, a / b, b / h, a / h }'
done
