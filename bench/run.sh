#!/usr/bin/env bash
# HTTP throughput benchmark, one run, five paths to the same backend
# (bench/responder: 100-byte answers straight off the socket, never the
# limit):
#   direct        wrk -> backend
#   builtin       wrk -> ingress-controller (file source, builtin provider) -> backend
#   haproxy-cfg   wrk -> a hand-written HAProxy config (Debian haproxy) -> backend
#   haproxy-eq    wrk -> a hand-written HAProxy config with the guarantees
#                 the haproxy provider gives (bench_haproxy_eq_cfg) -> backend
#   haproxy-prov  wrk -> HAProxy run by ingress-controller --provider=haproxy
#                 (same manifests, the config it renders) -> backend
#   nginx         wrk -> a hand-written nginx config (Debian nginx) -> backend
# Three tables: plain HTTP/1.1 keep-alive with small responses; HTTPS with a
# new connection (TLS 1.3, ECDSA P-256) for every request, resumed
# handshakes (wrk resumes from the session tickets the servers issue); and
# the same with full handshakes, against second instances of each proxy
# with session resumption off. Before each TLS row, openssl s_client
# connects twice, the second time with the first one's session, and the row
# shows whether it was Reused or New; a full-handshake row that resumes
# stops the script. The controller's --tls-session-resumption=false is
# used where the controller has it; without it its full-handshake rows say
# so instead of measuring.
#
# Each table is measured in BENCH_ROUNDS rounds, one after another; in
# each round every row is measured once, and each round starts one row
# later than the one before (the rows' order rotates), so that a noisy
# window or a row's place in the order does not decide a ratio. Each row:
# requests/s, p50 and p99, each core's busy share (/proc/stat), the
# proxy's own CPU time (its processes' utime and stime, /proc/PID/stat)
# as a share of one core, requests per proxy-CPU second and its ratio to
# the hand-written HAProxy config's: each the median over the rounds; and
# the proxy's resident memory (VmRSS) after the last round. The ratios
# between rows are the medians of each round's ratio, printed with the
# rounds' own figures. The proxy under test is pinned to CPU 0 with one
# thread (HAProxy takes its thread count from the CPUs it may use: one;
# nginx runs one worker); wrk and the backend share CPU 1 in every run, so
# the ratios compare like with like on a 2-core machine. The proxies not
# under test are idle meanwhile. Requests per proxy-CPU second count only
# the proxy's own CPU time, so other load on CPU 0 (a shared machine)
# lowers requests/s but not that figure.
#
#   BENCH_DURATION     seconds per measurement (default 5)
#   BENCH_ROUNDS       rounds of each table (default 3)
#   BENCH_CONNECTIONS  concurrent connections (default 50)
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
duration=${BENCH_DURATION:-5}
rounds=${BENCH_ROUNDS:-3}
conns=${BENCH_CONNECTIONS:-50}

. bench/lib.sh
had_nginx=$(command -v nginx || true)
need_commands openssl wrk haproxy curl nginx
# Where services start on install, Debian's nginx package starts its own
# on port 80. This script runs nginx with a config of its own and needs
# none of that: a service the install started is stopped and disabled.
if [[ -z $had_nginx ]] && command -v systemctl >/dev/null && systemctl is-active --quiet nginx 2>/dev/null; then
	sudo=
	[[ $(id -u) -eq 0 ]] || sudo=sudo
	$sudo systemctl disable --now nginx
fi

work=$(mktemp -d)
pids=()
cleanup() {
	for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
	wait 2>/dev/null || true
	# The haproxy provider stops its HAProxy on SIGTERM; should the
	# controller have died first, its master is stopped here by its pid.
	for dir in "$work"/hx-*; do
		[[ -s "$dir/haproxy.pid" ]] || continue
		hxpid=$(cat "$dir/haproxy.pid")
		if kill -0 "$hxpid" 2>/dev/null && grep -q "$dir" "/proc/$hxpid/cmdline" 2>/dev/null; then
			kill "$hxpid" 2>/dev/null || true
		fi
	done
	rm -rf "$work"
}
trap cleanup EXIT

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 \
	-subj /CN=bench.example.com -addext subjectAltName=DNS:bench.example.com \
	-keyout "$work/key.pem" -out "$work/cert.pem" 2>/dev/null
cat "$work/cert.pem" "$work/key.pem" >"$work/haproxy.pem"

go build -o "$work/ingress-controller" ./cmd/ingress-controller
go build -o "$work/responder" ./bench/responder

backend_port=$(free_port)
bench_manifests "$work/manifests" "$backend_port" "$work/cert.pem" "$work/key.pem"

# Each proxy instance has a key: its row's name, with -full for the
# instance with TLS session resumption off. port, tls_port and pid are
# per key.
declare -A port tls_port pid
keys=()
new_instance() {
	port[$1]=$(free_port)
	tls_port[$1]=$(free_port)
	keys+=("$1")
}

# start_controller KEY PROVIDER [FLAGS] runs the controller on CPU 0 with
# one thread; HAProxy inherits its CPU affinity: CPU 0, one thread.
start_controller() {
	local key=$1 provider=$2
	shift 2
	new_instance "$key"
	GOMAXPROCS=1 taskset -c 0 "$work/ingress-controller" --source=file --manifests="$work/manifests" \
		--provider="$provider" --haproxy-dir="$work/hx-$key" \
		--http-port="${port[$key]}" --https-port="${tls_port[$key]}" --listen-address=127.0.0.1 --log-level=warn \
		--metrics-addr="127.0.0.1:$(free_port)" "$@" &
	pid[$key]=$!
	pids+=($!)
}

start_haproxy() {
	local key=$1
	new_instance "$key"
	bench_haproxy_cfg "$work/$key.cfg" "$backend_port" "${port[$key]}" "${tls_port[$key]}" "$work/haproxy.pem" "${2:-}"
	taskset -c 0 haproxy -f "$work/$key.cfg" -db >/dev/null 2>&1 &
	pid[$key]=$!
	pids+=($!)
}

start_haproxy_eq() {
	local key=$1
	new_instance "$key"
	bench_haproxy_eq_cfg "$work/$key.cfg" "$backend_port" "${port[$key]}" "${tls_port[$key]}" "$work/haproxy.pem" \
		"$root/internal/provider/haproxy/hopbyhop.lua" "${2:-}"
	taskset -c 0 haproxy -f "$work/$key.cfg" -db >/dev/null 2>&1 &
	pid[$key]=$!
	pids+=($!)
}

start_nginx() {
	local key=$1
	new_instance "$key"
	bench_nginx_cfg "$work/$key" "$backend_port" "${port[$key]}" "${tls_port[$key]}" "$work/cert.pem" "$work/key.pem" "${2:-}"
	taskset -c 0 nginx -p "$work/$key" -c "$work/$key/nginx.conf" -e "$work/$key/error.log" >/dev/null 2>&1 &
	pid[$key]=$!
	pids+=($!)
}

help=$("$work/ingress-controller" --help 2>&1 || true)
controller_full=false
[[ $help == *-tls-session-resumption* ]] && controller_full=true

GOMAXPROCS=1 taskset -c 1 "$work/responder" -listen "127.0.0.1:$backend_port" -size 100 2>/dev/null &
pids+=($!)
start_controller builtin builtin
start_controller haproxy-prov haproxy
start_haproxy haproxy-cfg
start_haproxy_eq haproxy-eq
start_nginx nginx
if $controller_full; then
	start_controller builtin-full builtin --tls-session-resumption=false
	start_controller haproxy-prov-full haproxy --tls-session-resumption=false
fi
start_haproxy haproxy-cfg-full no-resumption
start_haproxy_eq haproxy-eq-full no-resumption
start_nginx nginx-full no-resumption

urls=("http://127.0.0.1:$backend_port/")
for key in "${keys[@]}"; do
	urls+=("http://127.0.0.1:${port[$key]}/" "https://bench.example.com:${tls_port[$key]}/")
done
for url in "${urls[@]}"; do
	for i in $(seq 100); do
		p=${url##*:}
		p=${p%/}
		curl -fsSk -o /dev/null -H 'Host: bench.example.com' --resolve "bench.example.com:$p:127.0.0.1" "$url" 2>/dev/null && break
		[[ $i == 100 ]] && { echo "bench: $url never answered" >&2; exit 1; }
		sleep 0.1
	done
done

# busy prints the busy and total jiffies of CPU 0 and CPU 1 (busy: all but
# idle and iowait), from /proc/stat.
busy() { awk '/^cpu[01] / { b = 0; t = 0; for (i = 2; i <= NF; i++) { t += $i; if (i != 5 && i != 6) b += $i } printf "%d %d ", b, t } END { print "" }' /proc/stat; }

# processes KEY prints the pids of the proxy's processes: the controller
# and, for the haproxy provider, its HAProxy master and workers; HAProxy
# (its own worker); nginx's master and worker.
processes() {
	local key=$1 master
	echo "${pid[$key]}"
	case $key in
	haproxy-prov*)
		master=$(cat "$work/hx-$key/haproxy.pid")
		echo "$master"
		pgrep -P "$master" || true
		;;
	nginx*) pgrep -P "${pid[$key]}" || true ;;
	esac
}

# cpu_jiffies PID... prints the processes' utime+stime summed, in jiffies
# (the unit of /proc/stat).
cpu_jiffies() {
	local p
	for p in "$@"; do cat "/proc/$p/stat" 2>/dev/null || true; done | awk '{ sub(/^.*\) /, ""); j += $12 + $13 } END { print j + 0 }'
}

# rss_mib PID... prints the processes' VmRSS summed, in MiB.
rss_mib() {
	local kib=0 p v
	for p in "$@"; do
		v=$(awk '/^VmRSS:/ { print $2 }' "/proc/$p/status" 2>/dev/null || true)
		kib=$((kib + ${v:-0}))
	done
	awk -v kib="$kib" 'BEGIN { printf "%.1f", kib / 1024 }'
}

# rss KEY prints the resident memory of the proxy: the HAProxy process (it
# is its own worker); nginx's master and worker; the controller, and for
# the haproxy provider "controller+HAProxy workers".
rss() {
	local key=$1 master
	case $key in
	haproxy-prov*)
		master=$(cat "$work/hx-$key/haproxy.pid")
		echo "$(rss_mib "${pid[$key]}")+$(rss_mib $(pgrep -P "$master"))"
		;;
	nginx*) rss_mib "${pid[$key]}" $(pgrep -P "${pid[$key]}") ;;
	*) rss_mib "${pid[$key]}" ;;
	esac
}

# session_check PORT prints Reused if a TLS connection to 127.0.0.1:PORT
# resumes the session of the one before it, else New. TLS 1.3 tickets come
# after the handshake, so each connection sends a request and reads the
# answer to the end (-ign_eof), which the ticket precedes; s_client's
# -reconnect does not wait for them.
session_check() {
	local sess="$work/session-$1" req='GET / HTTP/1.1\r\nHost: bench.example.com\r\nConnection: close\r\n\r\n'
	rm -f "$sess"
	if ! printf "$req" | timeout 10 openssl s_client -connect "127.0.0.1:$1" -servername bench.example.com -tls1_3 \
		-ign_eof -sess_out "$sess" 2>/dev/null | grep '^New,' >/dev/null; then
		echo failed
		return
	fi
	if [[ ! -s $sess ]]; then
		# No ticket came (Go's TLS without tickets): nothing to resume.
		echo New
		return
	fi
	printf "$req" | timeout 10 openssl s_client -connect "127.0.0.1:$1" -servername bench.example.com -tls1_3 \
		-ign_eof -sess_in "$sess" 2>/dev/null | awk '/^(New|Reused),/ && !found { sub(/,.*/, ""); print; found = 1 } END { if (!found) print "failed" }'
}

# measure KEY URL [wrk args] -> prints "NAME rps p50 p99 cpu0% cpu1%
# proxy% rss [session]" (latencies in ms; each core's busy share and the
# proxy's CPU time as a share of one core during the run; RSS in MiB after
# it), and with $tls_check set (resumed or full) the result of the
# session check before it.
tls_check=
measure() {
	local key=$1 url=$2 name=${1%-full} out b0 t0 b1 t1 c0 u0 c1 u1 session= procs=() j0=0 j1=0
	shift 2
	if [[ -n $tls_check ]]; then
		session=$(session_check "${tls_port[$key]}")
		if [[ $tls_check == full && $session != New ]]; then
			echo "bench: $name resumed a TLS session (s_client: $session) with resumption off; the full-handshake figures would be wrong" >&2
			exit 1
		fi
		if [[ $tls_check == resumed && $session != Reused ]]; then
			echo "bench: warning: $name did not resume a TLS session (s_client: $session)" >&2
		fi
	fi
	taskset -c 1 wrk -t1 -c"$conns" -d2s -H 'Host: bench.example.com' "$@" "$url" >/dev/null # warm up
	[[ $key == direct ]] || mapfile -t procs < <(processes "$key")
	read -r b0 t0 b1 t1 < <(busy)
	((${#procs[@]})) && j0=$(cpu_jiffies "${procs[@]}")
	out=$(taskset -c 1 wrk -t1 -c"$conns" -d"${duration}s" --latency -H 'Host: bench.example.com' "$@" "$url")
	((${#procs[@]})) && j1=$(cpu_jiffies "${procs[@]}")
	read -r c0 u0 c1 u1 < <(busy)
	if grep -q 'Non-2xx' <<<"$out"; then
		echo "bench: $name answered non-2xx responses:" >&2
		echo "$out" >&2
		exit 1
	fi
	awk -v name="$name" -v cpu0=$(((c0 - b0) * 1000 / (u0 - t0))) -v cpu1=$(((c1 - b1) * 1000 / (u1 - t1))) \
		-v proxy=$(((j1 - j0) * 1000 / (u0 - t0))) -v rss="$([[ $key == direct ]] && echo - || rss "$key")" -v session="$session" '
		function ms(v) { if (v ~ /us$/) return v/1000; if (v ~ /ms$/) return v+0; if (v ~ /s$/) return v*1000; return v }
		/Requests\/sec/ { rps = $2 }
		/^ +50%/ { p50 = ms($2) }
		/^ +99%/ { p99 = ms($2) }
		/Socket errors/ { errs = $0 }
		END { printf "%s %.0f %.3f %.3f %.1f %.1f %.1f %s %s\n", name, rps, p50, p99, cpu0 / 10, cpu1 / 10, proxy / 10, rss, session; if (errs != "") print "  " name ": " errs > "/dev/stderr" }
	' <<<"$out"
}

# table KIND KEY... measures the rows KEY... in $rounds rounds, each
# round's order rotated by one row, and prints "ROUND " before each
# measure line. KIND is http (keep-alive to the HTTP port; the key direct
# is the backend itself) or https (a new TLS connection per request). A
# key without an instance (a controller without --tls-session-resumption)
# prints "NAME n/a (REASON)" once per round.
table() {
	local kind=$1 r i n key
	shift
	n=$#
	local keys=("$@")
	for ((r = 1; r <= rounds; r++)); do
		for ((i = 0; i < n; i++)); do
			key=${keys[(i + r - 1) % n]}
			printf '%d ' "$r"
			if [[ $key == direct ]]; then
				measure direct "http://127.0.0.1:$backend_port/"
			elif [[ -z ${tls_port[$key]:-} ]]; then
				echo "${key%-full} n/a (flag missing: --tls-session-resumption)"
			elif [[ $kind == http ]]; then
				measure "$key" "http://127.0.0.1:${port[$key]}/"
			else
				measure "$key" "https://127.0.0.1:${tls_port[$key]}/" -H 'Connection: close'
			fi
		done
	done
}

# report TITLE RESULTS ROWS [goals] -> the table of ROWS and the ratios,
# from table's lines; with goals, the builtin's goals (keep-alive) too.
# Each column is the median over the rounds (RSS: the last round's).
# Requests per proxy-CPU second are req/s over the proxy's own CPU share;
# "x haproxy-cfg" is the median of each round's ratio of that figure to
# the hand-written HAProxy config's, and so are the ratios below the
# table, each followed by the rounds' own ratios.
report() {
	echo "$1"
	awk -v order="$3" -v goals="${4:-}" '
		# median LIST: the median of the space-separated numbers.
		function median(list,   a, n, i, j, t) {
			n = split(list, a, " ")
			for (i = 2; i <= n; i++) { t = a[i] + 0; for (j = i - 1; j >= 1 && a[j] + 0 > t; j--) a[j + 1] = a[j]; a[j + 1] = t }
			return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
		}
		# ratio A B FIELD: "M (rounds: r1 r2 ...)", the median over the
		# rounds of the ratio of FIELD (per: requests per proxy-CPU
		# second, rps, p99) of row A to row B, then each round by itself.
		function ratio(a, b, field,   r, list, x, y) {
			list = ""
			for (r = 1; r <= rounds; r++) {
				x = (field == "per" ? per[r, a] : field == "rps" ? rps[r, a] : p99[r, a])
				y = (field == "per" ? per[r, b] : field == "rps" ? rps[r, b] : p99[r, b])
				if (y > 0) list = list sprintf(" %.3f", x / y)
			}
			return sprintf("%.3fx (rounds:%s)", median(list), list)
		}
		{ r = $1; n = $2; if (r > rounds) rounds = r }
		$3 == "n/a" { line = $0; sub(/^[^ ]+ [^ ]+ /, "", line); missing[n] = line; next }
		{
			seen[n] = 1; rps[r, n] = $3; p99[r, n] = $5; per[r, n] = ($8 > 0 ? $3 * 100 / $8 : 0)
			for (f = 3; f <= 8; f++) col[n, f] = col[n, f] " " $f
			perl[n] = perl[n] " " per[r, n]; rss[n] = $9
			if ($10 != "") { checked = 1; session[n] = (n in session && index(session[n], $10) == 0 ? session[n] "/" $10 : $10) }
		}
		END {
			split(order, names, " ")
			printf "%-13s %9s %8s %8s %7s %7s %8s %15s %13s %11s%s\n", "target", "req/s", "p50 ms", "p99 ms", "cpu0 %", "cpu1 %", "proxy %", "req/proxy-cpu-s", "x haproxy-cfg", "RSS MiB", (checked ? "  s_client" : "")
			for (i = 1; i in names; i++) {
				k = names[i]; n = k; sub(/-full$/, "", n)
				if (n in missing) { printf "%-13s %s\n", n, missing[n]; continue }
				if (!(n in seen)) continue
				printf "%-13s %9d %8.3f %8.3f %7.1f %7.1f %8s %15s %13s %11s%s\n", n, median(col[n, 3]), median(col[n, 4]), median(col[n, 5]),
					median(col[n, 6]), median(col[n, 7]), (n == "direct" ? "-" : sprintf("%.1f", median(col[n, 8]))),
					(n == "direct" ? "-" : sprintf("%.0f", median(perl[n]))),
					(n == "direct" || !("haproxy-cfg" in seen) ? "-" : sprintf("%.2f", median(ratiol(n)))), rss[n], (checked ? "  " session[n] : "")
			}
			if (!("haproxy-cfg" in seen)) exit
			if ("builtin" in seen) printf "%-25s per proxy-CPU second %s%s\n%-25s p99 %s%s\n", "builtin/haproxy-cfg", ratio("builtin", "haproxy-cfg", "per"),
				(goals ? " (goal: at least 0.8x)" : ""), "", ratio("builtin", "haproxy-cfg", "p99"), (goals ? " (goal: at most 1.5x)" : "")
			if ("nginx" in seen) printf "%-25s per proxy-CPU second %s\n", "nginx/haproxy-cfg", ratio("nginx", "haproxy-cfg", "per")
			if (("haproxy-prov" in seen) && ("haproxy-eq" in seen)) printf "%-25s per proxy-CPU second %s (goal: at least 0.95x)\n", "haproxy-prov/haproxy-eq", ratio("haproxy-prov", "haproxy-eq", "per")
			if ("haproxy-eq" in seen) printf "%-25s per proxy-CPU second %s (what the guarantees cost)\n", "haproxy-eq/haproxy-cfg", ratio("haproxy-eq", "haproxy-cfg", "per")
			if ("direct" in seen) printf "%-25s throughput %s\n", "haproxy-cfg/direct", ratio("haproxy-cfg", "direct", "rps")
		}
		# ratiol N: the ratio of N to haproxy-cfg per proxy-CPU second in
		# each round, as a list.
		function ratiol(n,   r, list) {
			list = ""
			for (r = 1; r <= rounds; r++) if (per[r, "haproxy-cfg"] > 0) list = list " " per[r, n] / per[r, "haproxy-cfg"]
			return list
		}
	' <<<"$2"
}

echo "proxy %: the proxy's own CPU time over the run, in % of one core. RSS: after the last round; haproxy-prov: controller+HAProxy workers."
echo "s_client: a second TLS connection Reused the first one's session, or New."
echo "Each figure: the median of ${rounds} rounds of ${duration}s per row, the rows' order rotated from round to round."
echo
rows="direct builtin haproxy-cfg haproxy-eq haproxy-prov nginx"
results=$(table http $rows)
report "HTTP keep-alive, ${conns} connections; proxy on CPU 0, wrk + backend on CPU 1" "$results" "$rows" goals
echo
# A new TLS connection per request: the handshake dominates.
tls_check=resumed
rows="builtin haproxy-cfg haproxy-eq haproxy-prov nginx"
results=$(table https $rows)
report "HTTPS, a new connection per request, resumed handshakes (TLS 1.3 session tickets, P-256), ${conns} connections" "$results" "$rows"
echo
tls_check=full
rows="builtin-full haproxy-cfg-full haproxy-eq-full haproxy-prov-full nginx-full"
results=$(table https $rows)
report "HTTPS, a new connection per request, full handshakes (session resumption off on the server, P-256), ${conns} connections" "$results" "$rows"
