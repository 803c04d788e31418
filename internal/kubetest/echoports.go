package kubetest

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// echoPort is a port echo-basic listens on.
type echoPort struct {
	network string // "tcp" or "udp"
	port    int
}

// echoPorts are the ports echo-basic (conformance v1.6.3, echo-basic.go
// and its grpc, tcpserver and udpechoserver packages) listens on with the
// environment env, its plain TCP port first: the node calls a container
// started only once its process listens on all of them.
func echoPorts(env []string) ([]echoPort, error) {
	vars := map[string]string{}
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		vars[k] = v
	}
	tls := func(key string) bool { return vars["TLS_SERVER_CERT"] != "" && vars[key] != "" }
	var specs []portSpec
	switch {
	case vars["GRPC_ECHO_SERVER"] != "":
		specs = []portSpec{{"tcp", "HTTP_PORT", 3000, true}, {"tcp", "HTTPS_PORT", 8443, tls("TLS_SERVER_PRIV_KEY")}}
	case vars["TCP_ECHO_SERVER"] != "":
		specs = []portSpec{{"tcp", "TCP_PORT", 3000, true}, {"tcp", "TLS_PORT", 8443, tls("TLS_SERVER_PRIV_KEY")}}
	case vars["UDP_ECHO_SERVER"] != "":
		specs = []portSpec{{"udp", "UDP_PORT", 8080, true}}
	default:
		specs = []portSpec{{"tcp", "HTTP_PORT", 3000, true}, {"tcp", "H2C_PORT", 3001, true}, {"tcp", "HTTPS_PORT", 8443, tls("TLS_SERVER_PRIVKEY")}}
	}
	var ports []echoPort
	for _, s := range specs {
		if !s.on {
			continue
		}
		p := s.def
		if v := vars[s.key]; v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 || n > 65535 {
				return nil, fmt.Errorf("%s=%q is not a port", s.key, v)
			}
			p = n
		}
		ports = append(ports, echoPort{network: s.network, port: p})
	}
	return ports, nil
}

// portSpec is a port of one of echo-basic's modes: the variable naming it,
// its default and whether the mode listens on it with this environment.
type portSpec struct {
	network string
	key     string
	def     int
	on      bool
}

// socketTables are the /proc/<pid>/net tables of bound sockets, both
// families (echo-basic binds the wildcard address), with the state of a
// TCP listener or an open UDP socket.
var socketTables = []struct{ network, file, state string }{
	{"tcp", "tcp", "0A"}, {"tcp", "tcp6", "0A"}, {"udp", "udp", "07"}, {"udp", "udp6", "07"},
}

// listens reports whether process pid has every port bound with sockets
// of its own, not another container's of the same Pod.
func listens(pid int, ports []echoPort) (bool, error) {
	held, err := socketInodes(pid)
	if err != nil {
		return false, err
	}
	bound := map[echoPort]bool{}
	for _, t := range socketTables {
		if err := boundPorts(fmt.Sprintf("/proc/%d/net/%s", pid, t.file), t.network, t.state, held, bound); err != nil {
			return false, err
		}
	}
	for _, p := range ports {
		if !bound[p] {
			return false, nil
		}
	}
	return true, nil
}

// socketInodes are the inodes of the sockets process pid holds.
func socketInodes(pid int) (map[string]bool, error) {
	dir := fmt.Sprintf("/proc/%d/fd", pid)
	fds, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	held := map[string]bool{}
	for _, fd := range fds {
		link, err := os.Readlink(dir + "/" + fd.Name())
		if err != nil {
			continue // closed meanwhile
		}
		if inode, ok := strings.CutPrefix(link, "socket:["); ok {
			held[strings.TrimSuffix(inode, "]")] = true
		}
	}
	return held, nil
}

// boundPorts adds to bound the local ports of a socket table's entries
// in state whose inode is held (any if held is nil).
func boundPorts(path, network, state string, held map[string]bool, bound map[echoPort]bool) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Scan() // the header
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 10 || fields[3] != state || (held != nil && !held[fields[9]]) {
			continue
		}
		_, hex, ok := strings.Cut(fields[1], ":")
		if !ok {
			continue
		}
		if port, err := strconv.ParseUint(hex, 16, 16); err == nil {
			bound[echoPort{network: network, port: int(port)}] = true
		}
	}
	return sc.Err()
}
