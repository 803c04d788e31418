#!/usr/bin/env bash
# HAProxy's own CPU instructions per keep-alive request, counted by
# valgrind's callgrind: deterministic, so unlike the wrk figures of
# bench/run.sh it does not move with the machine's noise, and it tells
# the cost of config lines apart. Three configs, one thread each, the same
# backend (bench/responder):
#   haproxy-cfg   the bare hand-written reference (bench_haproxy_cfg)
#   haproxy-eq    hand-written with the haproxy provider's guarantees
#                 (bench_haproxy_eq_cfg)
#   haproxy-prov  the config ingress-controller --provider=haproxy renders
#                 for the same manifests
# Each config serves BENCH_REQUESTS and then 5 times as many sequential
# requests on one connection; the difference over the extra requests is
# the cost of one request, start-up and shutdown cancelling out. Callgrind
# counts instructions, not time: it overstates memcpy (its own byte-wise
# copy replaces glibc's), which the keep-alive retry (retry-on
# empty-response) does once per request over the whole buffer; the
# "without retry" column leaves that out. Then, for the rendered config,
# what leaving out each group of its lines saves.
#
# First, the goal's own measure: each config under the load of
# bench/run.sh's keep-alive table (wrk, 50 connections, "GET /"), with
# callgrind's cache simulation, counted from after a warm-up: per request
# the instructions, the simulated first-level and last-level cache
# misses, and the cycle estimate of KCachegrind (instructions + 10 x
# first-level misses + 100 x last-level misses). HAProxy under callgrind
# is the limit, so each wakeup handles as many connections as it can, as
# on a busy proxy. The kernel's share of a request (about half of it,
# perf says) is left out: both HAProxy configs make the same system calls
# per request (strace -c: one recvfrom and one sendto per side) with the
# same bytes, so it is the same work; on this machine it is what swings
# from minute to minute.
#
#   BENCH_REQUESTS      requests of the short run (default 200)
#   BENCH_LOAD_SECONDS  seconds of load counted per config (default 10)
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
short=${BENCH_REQUESTS:-200}
long=$((short * 5))
load_seconds=${BENCH_LOAD_SECONDS:-10}

. bench/lib.sh
need_commands haproxy valgrind python3 openssl curl wrk

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
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 \
	-subj /CN=bench.example.com -keyout "$work/key.pem" -out "$work/cert.pem" 2>/dev/null
cat "$work/cert.pem" "$work/key.pem" >"$work/haproxy.pem"

backend_port=$(free_port)
"$work/responder" -listen "127.0.0.1:$backend_port" -size 100 2>/dev/null &
pids+=($!)
bench_manifests "$work/manifests" "$backend_port"

# The rendered config: the controller writes it and serves it; a copy of
# that generation is measured like the others once the controller has
# stopped with its HAProxy.
prov_port=$(free_port)
hx="$work/hx"
"$work/ingress-controller" --source=file --manifests="$work/manifests" --provider=haproxy --haproxy-dir="$hx" \
	--haproxy-threads=1 --http-port="$prov_port" --https-port="$(free_port)" --listen-address=127.0.0.1 \
	--log-level=warn --metrics-addr="127.0.0.1:$(free_port)" &
controller=$!
for i in $(seq 100); do
	curl -fsS -o /dev/null -H 'Host: bench.example.com' "http://127.0.0.1:$prov_port/" 2>/dev/null && break
	[[ $i == 100 ]] && { echo "bench: the haproxy provider never answered" >&2; exit 1; }
	sleep 0.1
done
# The generation that serves, copied before the controller stops and
# removes it.
cp -r "$(readlink -f "$hx/current")" "$work/prov"
kill "$controller"
wait "$controller" || true
# Another instance of HAProxy must not take over the stopped one's socket
# or state file.
sed -i -e '/^    stats socket /d' -e '/^    server-state-file /d' -e '/load-server-state-from-file/d' "$work/prov/haproxy.cfg"

ports=$(free_port)
bench_haproxy_cfg "$work/haproxy-cfg.cfg" "$backend_port" "$ports"
cfg_port=$ports
eq_port=$(free_port)
bench_haproxy_eq_cfg "$work/haproxy-eq.cfg" "$backend_port" "$eq_port" "$(free_port)" "$work/haproxy.pem" \
	"$root/internal/provider/haproxy/hopbyhop.lua"

cat >"$work/client.py" <<'PY'
# client.py PORT N: N GET requests, one after another, on one connection;
# exits non-zero unless every answer is 200.
import socket, sys
port, n = int(sys.argv[1]), int(sys.argv[2])
s = socket.create_connection(("127.0.0.1", port))
req = b"GET /some/path?q=1 HTTP/1.1\r\nHost: bench.example.com\r\nUser-Agent: cost/1\r\nAccept: */*\r\n\r\n"
buf = b""
for i in range(n):
    s.sendall(req)
    while True:
        end = buf.find(b"\r\n\r\n")
        if end >= 0:
            head = buf[:end].decode("latin-1")
            length = 0
            for line in head.split("\r\n")[1:]:
                name, _, value = line.partition(":")
                if name.strip().lower() == "content-length":
                    length = int(value)
            if len(buf) >= end + 4 + length:
                if not head.startswith("HTTP/1.1 200"):
                    sys.exit("answer %d: %s" % (i, head.splitlines()[0]))
                buf = buf[end + 4 + length:]
                break
        data = s.recv(65536)
        if not data:
            sys.exit("closed after %d answers" % i)
        buf += data
PY

# start_callgrind DIR CFG PORT VALGRIND_OPTION... runs HAProxy with CFG
# from DIR under callgrind with those options, sets hxpid (valgrind's pid,
# which is HAProxy's) and returns once PORT takes connections. PORT must
# be free before: another HAProxy on it would share its connections.
start_callgrind() {
	local dir=$1 cfg=$2 port=$3 i
	shift 3
	if python3 -c "import socket; socket.create_connection(('127.0.0.1', $port))" 2>/dev/null; then
		echo "bench: port $port is taken" >&2
		exit 1
	fi
	(cd "$dir" && exec valgrind --tool=callgrind "$@" haproxy -f "$cfg" -db >"$work/valgrind.log" 2>&1) &
	hxpid=$!
	for i in $(seq 200); do
		python3 -c "import socket; socket.create_connection(('127.0.0.1', $port))" 2>/dev/null && break
		[[ $i == 200 ]] && { echo "bench: $cfg never listened" >&2; cat "$work/valgrind.log" >&2; exit 1; }
		sleep 0.1
	done
}

# instructions DIR CFG PORT N prints HAProxy's instructions for N requests
# to PORT, start-up and a soft stop included.
instructions() {
	local n=$4 hxpid
	start_callgrind "$1" "$2" "$3" --callgrind-out-file=/dev/null
	if ! python3 "$work/client.py" "$3" "$n"; then
		kill "$hxpid"
		exit 1
	fi
	kill -USR1 "$hxpid"
	wait "$hxpid" || true
	awk '/Collected :/ { print $4 }' "$work/valgrind.log"
}

# under_load DIR CFG PORT prints, per request under wrk's keep-alive load
# (50 connections, "GET /" as bench/run.sh sends it), HAProxy's
# instructions, simulated first-level cache misses (instruction and
# data), last-level misses and the cycle estimate, from a callgrind run
# with cache simulation whose counters start after a warm-up; then the
# number of requests counted.
under_load() {
	local cfg=$2 port=$3 hxpid i out=$work/load.out n file
	start_callgrind "$1" "$cfg" "$port" --cache-sim=yes --callgrind-out-file="$out.%p"
	wrk -t1 -c50 -d3s -H 'Host: bench.example.com' "http://127.0.0.1:$port/" >/dev/null
	# The counters start from zero here; callgrind_control may not see a
	# task that has just started, so it is asked until it does.
	for i in $(seq 50); do
		callgrind_control -z "$hxpid" >/dev/null 2>&1 && break
		[[ $i == 50 ]] && { echo "bench: callgrind_control never reached HAProxy ($cfg)" >&2; exit 1; }
		sleep 0.2
	done
	n=$(wrk -t1 -c50 -d"${load_seconds}s" -H 'Host: bench.example.com' "http://127.0.0.1:$port/" | awk '/requests in/ { print $1 }')
	# The dump goes to its own file, .1, before HAProxy stops.
	callgrind_control -d "$hxpid" >/dev/null 2>&1 || { echo "bench: callgrind_control could not dump ($cfg)" >&2; exit 1; }
	kill "$hxpid"
	wait "$hxpid" || true
	file=$out.$hxpid.1
	[[ -s $file ]] || { echo "bench: no callgrind dump for $cfg" >&2; exit 1; }
	awk -v n="$n" '
		/^events:/ { for (i = 2; i <= NF; i++) name[i - 1] = $i }
		/^(summary|totals):/ { for (i = 2; i <= NF; i++) v[name[i - 1]] = $i }
		END {
			l1 = v["I1mr"] + v["D1mr"] + v["D1mw"]; ll = v["ILmr"] + v["DLmr"] + v["DLmw"]
			printf "%.0f %.0f %.0f %.0f %d\n", v["Ir"] / n, l1 / n, ll / n, (v["Ir"] + 10 * l1 + 100 * ll) / n, n
		}' "$file"
	rm -f "$out".*
}

# target KEY sets dir, cfg and port: where the config of KEY runs from,
# its file and its HTTP port.
target() {
	case $1 in
	haproxy-cfg) dir=$work cfg=$work/haproxy-cfg.cfg port=$cfg_port ;;
	haproxy-eq) dir=$work cfg=$work/haproxy-eq.cfg port=$eq_port ;;
	haproxy-prov) dir=$work/prov cfg=$work/prov/haproxy.cfg port=$prov_port ;;
	esac
}

declare -A ir l1 ll est count
for key in haproxy-cfg haproxy-eq haproxy-prov; do
	target "$key"
	read -r "ir[$key]" "l1[$key]" "ll[$key]" "est[$key]" "count[$key]" < <(under_load "$dir" "$cfg" "$port")
done
echo "HAProxy per keep-alive request under load (callgrind with cache simulation; wrk, 50 connections, ${load_seconds} s counted after a 3 s warm-up)"
printf "%-13s %12s %10s %10s %12s %9s\n" target instructions "L1 misses" "LL misses" "est. cycles" requests
for key in haproxy-cfg haproxy-eq haproxy-prov; do
	printf "%-13s %12d %10d %10d %12d %9d\n" "$key" "${ir[$key]}" "${l1[$key]}" "${ll[$key]}" "${est[$key]}" "${count[$key]}"
done
awk -v a="${est[haproxy-eq]}" -v b="${est[haproxy-prov]}" -v c="${ir[haproxy-eq]}" -v d="${ir[haproxy-prov]}" \
	'BEGIN { printf "haproxy-prov/haproxy-eq per request of HAProxy'"'"'s own work: %.3fx by estimated cycles, %.3fx by instructions (goal: at least 0.95x)\n", a / b, c / d }'
echo

# per_request DIR CFG PORT prints the instructions of one request.
per_request() {
	local a b
	a=$(instructions "$1" "$2" "$3" "$short")
	b=$(instructions "$1" "$2" "$3" "$long")
	echo $(((b - a) / (long - short)))
}

# without FILE PATTERN writes FILE.without, FILE without the lines that
# match PATTERN (grep -e), and prints its name.
without() {
	grep -v -e "$2" "$1" >"$1.without"
	echo "$(basename "$1").without"
}

declare -A cost noretry
for key in haproxy-cfg haproxy-eq haproxy-prov; do
	target "$key"
	cost[$key]=$(per_request "$dir" "$cfg" "$port")
	noretry[$key]=$(per_request "$dir" "$(without "$cfg" retry-on)" "$port")
done

echo "HAProxy instructions per keep-alive request (callgrind; ${short} and ${long} requests on one connection)"
printf "%-13s %12s %15s %18s\n" target instructions "without retry" "x haproxy-prov"
for key in haproxy-cfg haproxy-eq haproxy-prov; do
	printf "%-13s %12d %15d %18s\n" "$key" "${cost[$key]}" "${noretry[$key]}" \
		"$(awk -v a="${cost[haproxy-prov]}" -v b="${cost[$key]}" -v c="${noretry[haproxy-prov]}" -v d="${noretry[$key]}" 'BEGIN { printf "%.2f / %.2f", a / b, c / d }')"
done
echo "x haproxy-prov: the rendered config's instructions over this one's, with / without the retry."
echo
echo "What each group of the rendered config's lines costs (instructions per request saved by leaving it out):"
while IFS='|' read -r name pattern; do
	saved=$((cost[haproxy-prov] - $(per_request "$work/prov" "$(without "$work/prov/haproxy.cfg" "$pattern")" "$prov_port")))
	printf "  %-40s %8d\n" "$name" "$saved"
done <<'GROUPS'
keep-alive retry (retry-on)|retry-on
exact head limit (431)|txn.head
X-Forwarded-For|X-Forwarded-For
X-Real-IP, X-Forwarded-Host/Proto/Port|X-Real-IP\|X-Forwarded-Host\|X-Forwarded-Proto\|X-Forwarded-Port
Upgrade and Connection fields|upgrade\|del-header connection\|set-header connection
other hop-by-hop fields|del-header keep-alive\|del-header te$\|proxy-
path normalization|normalize-uri\|txn.query\|set-query
request-target checks|deny deny_status
GROUPS
