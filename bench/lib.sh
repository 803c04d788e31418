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
