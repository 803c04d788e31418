#!/usr/bin/env bash
# Quick start: runs ingress-controller with the file source and the builtin
# proxy on the manifests in examples/quickstart, plus the echo backends those
# manifests point to, then prints curl commands to try. Ctrl-C stops it all.
#
#   QUICKSTART_MANIFESTS  manifest directory (default examples/quickstart)
#   QUICKSTART_PORT       public HTTP port (default 8080)
#   QUICKSTART_ADMIN      address of /healthz, /readyz, /metrics (default 127.0.0.1:10254)
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
manifests=${QUICKSTART_MANIFESTS:-$root/examples/quickstart}
port=${QUICKSTART_PORT:-8080}
admin=${QUICKSTART_ADMIN:-127.0.0.1:10254}

command -v go >/dev/null || { echo "quickstart: Go is required (https://go.dev/dl/)" >&2; exit 1; }
bin=$(mktemp -d)
pids=()
cleanup() {
	for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$bin"
}
trap cleanup EXIT
trap 'exit 0' INT TERM

echo "building ingress-controller and the echo backends..."
go build -o "$bin/ingress-controller" ./cmd/ingress-controller
go build -o "$bin/echo" ./examples/echo

"$bin/echo" shop-web-1=127.0.0.1:9001 shop-web-2=127.0.0.1:9002 shop-cart=127.0.0.1:9003 \
	blog=127.0.0.1:9004 blog-feed=127.0.0.1:9005 &
pids+=($!)
"$bin/ingress-controller" --source=file --manifests="$manifests" --provider=builtin \
	--http-port="$port" --listen-address=127.0.0.1 --metrics-addr="$admin" &
pids+=($!)

for i in $(seq 100); do
	if curl -fsS -o /dev/null "http://$admin/readyz" 2>/dev/null; then
		break
	fi
	if [[ $i == 100 ]]; then
		echo "quickstart: ingress-controller did not become ready; see the log above" >&2
		exit 1
	fi
	sleep 0.1
done

cat <<MSG

ingress-controller is serving $manifests on http://127.0.0.1:$port
Try:
  curl --resolve shop.example.com:$port:127.0.0.1 http://shop.example.com:$port/          # shop-web-1 / shop-web-2, round robin
  curl --resolve shop.example.com:$port:127.0.0.1 http://shop.example.com:$port/cart/items # shop-cart (Prefix /cart)
  curl --resolve shop.example.com:$port:127.0.0.1 http://shop.example.com:$port/cartoons   # shop-web: /cart matches whole path segments only
  curl --resolve blog.example.com:$port:127.0.0.1 http://blog.example.com:$port/feed.xml   # blog-feed (Exact)
  curl --resolve blog.example.com:$port:127.0.0.1 http://blog.example.com:$port/posts/1    # blog
  curl -i http://127.0.0.1:$port/                                                       # 404: no host matches
Edit a file in $manifests and the change is served within a second.
Health and metrics: curl http://$admin/readyz ; curl http://$admin/metrics
Press Ctrl-C to stop.
MSG
wait "${pids[1]}"
