package kubetest

import (
	"context"
	"fmt"
	"maps"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestEchoPorts(t *testing.T) {
	tcp := func(p int) echoPort { return echoPort{network: "tcp", port: p} }
	for _, tc := range []struct {
		env     []string
		want    []echoPort
		wantErr string
	}{
		{nil, []echoPort{tcp(3000), tcp(3001)}, ""},
		{[]string{"TLS_SERVER_CERT=/c", "TLS_SERVER_PRIVKEY=/k"}, []echoPort{tcp(3000), tcp(3001), tcp(8443)}, ""},
		// The HTTP mode's key variable is TLS_SERVER_PRIVKEY; the others'
		// TLS_SERVER_PRIV_KEY.
		{[]string{"TLS_SERVER_CERT=/c", "TLS_SERVER_PRIV_KEY=/k"}, []echoPort{tcp(3000), tcp(3001)}, ""},
		{[]string{"TLS_SERVER_CERT=/c"}, []echoPort{tcp(3000), tcp(3001)}, ""},
		{[]string{"HTTP_PORT=8080", "H2C_PORT=8081", "HTTPS_PORT=9443", "TLS_SERVER_CERT=/c", "TLS_SERVER_PRIVKEY=/k"}, []echoPort{tcp(8080), tcp(8081), tcp(9443)}, ""},
		// The last value of a variable counts, as in a process's environment.
		{[]string{"HTTP_PORT=1", "HTTP_PORT=2"}, []echoPort{tcp(2), tcp(3001)}, ""},
		{[]string{"GRPC_ECHO_SERVER=1"}, []echoPort{tcp(3000)}, ""},
		{[]string{"GRPC_ECHO_SERVER=1", "TLS_SERVER_CERT=/c", "TLS_SERVER_PRIV_KEY=/k", "HTTPS_PORT=9000"}, []echoPort{tcp(3000), tcp(9000)}, ""},
		{[]string{"TCP_ECHO_SERVER=1", "TCP_PORT=4000"}, []echoPort{tcp(4000)}, ""},
		{[]string{"TCP_ECHO_SERVER=1", "TLS_SERVER_CERT=/c", "TLS_SERVER_PRIV_KEY=/k"}, []echoPort{tcp(3000), tcp(8443)}, ""},
		{[]string{"UDP_ECHO_SERVER=1"}, []echoPort{{network: "udp", port: 8080}}, ""},
		{[]string{"UDP_ECHO_SERVER=1", "UDP_PORT=53"}, []echoPort{{network: "udp", port: 53}}, ""},
		// gRPC wins over TCP, TCP over UDP, as echo-basic's main decides.
		{[]string{"UDP_ECHO_SERVER=1", "TCP_ECHO_SERVER=1", "GRPC_ECHO_SERVER=1"}, []echoPort{tcp(3000)}, ""},
		{[]string{"HTTP_PORT=http"}, nil, "HTTP_PORT"},
		{[]string{"HTTP_PORT=0"}, nil, "HTTP_PORT"},
		{[]string{"HTTP_PORT=65536"}, nil, "HTTP_PORT"},
		{[]string{"HTTP_PORT= 80"}, nil, "HTTP_PORT"},
		{[]string{"HTTP_PORT=" + strings.Repeat("9", 10000)}, nil, "HTTP_PORT"},
		{[]string{"TCP_ECHO_SERVER=1", "TCP_PORT=-1"}, nil, "TCP_PORT"},
		// A port a mode does not use may be anything.
		{[]string{"TCP_PORT=x", "UDP_PORT=y"}, []echoPort{tcp(3000), tcp(3001)}, ""},
	} {
		got, err := echoPorts(tc.env)
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("env %.80q: error %v, want one naming %s", tc.env, err, tc.wantErr)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("env %q: %v, %v; want %v", tc.env, got, err, tc.want)
		}
	}
}

// TestEchoPortsOfEchoBasic runs the real echo-basic in a pod's namespace
// in each of its modes: it binds exactly the ports echoPorts names, which
// listens sees, and the node reaches them at the pod's address.
func TestEchoPortsOfEchoBasic(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	dir, err := findBinaries(ctx, t.Logf)
	if err != nil {
		t.Fatal(err)
	}
	echoBin := filepath.Join(dir, echoBasicBinary)
	certFile, keyFile := writeServing(t)
	n, err := newPodNetwork()
	if err != nil {
		t.Fatal(err)
	}
	defer n.close()
	for _, tc := range []struct {
		name string
		env  []string
	}{
		{"http", nil},
		{"http-tls", []string{"HTTP_PORT=8080", "H2C_PORT=8081", "HTTPS_PORT=9443", "TLS_SERVER_CERT=" + certFile, "TLS_SERVER_PRIVKEY=" + keyFile}},
		{"grpc-tls", []string{"GRPC_ECHO_SERVER=1", "TLS_SERVER_CERT=" + certFile, "TLS_SERVER_PRIV_KEY=" + keyFile}},
		{"tcp-tls", []string{"TCP_ECHO_SERVER=1", "TCP_PORT=4000", "TLS_SERVER_CERT=" + certFile, "TLS_SERVER_PRIV_KEY=" + keyFile}},
		{"udp", []string{"UDP_ECHO_SERVER=1", "UDP_PORT=5353"}},
	} {
		env := tc.env
		t.Run(tc.name, func(t *testing.T) {
			s, err := n.addPod()
			if err != nil {
				t.Fatal(err)
			}
			defer n.removePod(s)
			ports, err := echoPorts(env)
			if err != nil {
				t.Fatal(err)
			}
			cmd := exec.Command("ip", "netns", "exec", s.Namespace, echoBin)
			cmd.Env = append([]string{"PATH=" + podPath}, env...)
			cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			defer func() {
				cmd.Process.Kill()
				cmd.Wait()
			}()
			c := &podContainer{cmd: cmd}
			deadline := time.Now().Add(20 * time.Second)
			for !c.listensIn(cmd, s, ports) {
				if time.Now().After(deadline) {
					t.Fatalf("echo-basic never listened on %v", ports)
				}
				time.Sleep(20 * time.Millisecond)
			}
			// Give a listener echoPorts missed the time to show.
			time.Sleep(300 * time.Millisecond)
			bound := map[echoPort]bool{}
			for _, f := range socketTables {
				if err := boundPorts(fmt.Sprintf("/proc/%d/net/%s", cmd.Process.Pid, f.file), f.network, f.state, nil, bound); err != nil {
					t.Fatal(err)
				}
			}
			got := slices.SortedFunc(maps.Keys(bound), comparePorts)
			if want := slices.SortedFunc(slices.Values(ports), comparePorts); !slices.Equal(got, want) {
				t.Errorf("echo-basic binds %v, echoPorts says %v", got, want)
			}
			for _, p := range ports {
				if p.network != "tcp" {
					continue
				}
				conn, err := net.DialTimeout("tcp", net.JoinHostPort(s.Addr.String(), strconv.Itoa(p.port)), time.Second)
				if err != nil {
					t.Errorf("port %d: %v", p.port, err)
					continue
				}
				conn.Close()
			}
			if err := reach(ctx, s.Addr, ports); err != nil {
				t.Errorf("reach: %v", err)
			}
			// Another container of the pod, in the same namespace, does
			// not listen for echo-basic.
			other := exec.Command("ip", "netns", "exec", s.Namespace, "sleep", "30")
			other.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
			if err := other.Start(); err != nil {
				t.Fatal(err)
			}
			defer func() {
				other.Process.Kill()
				other.Wait()
			}()
			deadline = time.Now().Add(5 * time.Second)
			for !inNamespace(other.Process.Pid, s) && time.Now().Before(deadline) {
				time.Sleep(10 * time.Millisecond)
			}
			if ok, err := listens(other.Process.Pid, ports); ok || err != nil {
				t.Errorf("listens for a process of the same namespace that binds nothing: %v, %v", ok, err)
			}
		})
	}
	// Not in the namespace: listensIn says no, whatever the node binds.
	c := &podContainer{}
	self := exec.Command("true")
	self.Process = &os.Process{Pid: os.Getpid()}
	if s, err := n.addPod(); err == nil {
		defer n.removePod(s)
		if c.listensIn(self, s, nil) {
			t.Errorf("listensIn: the test process is in pod namespace %s", s.Namespace)
		}
	}
}

func comparePorts(a, b echoPort) int {
	if a.network != b.network {
		return strings.Compare(a.network, b.network)
	}
	return a.port - b.port
}

// writeServing writes a certificate and key for echo-basic's TLS ports.
func writeServing(t *testing.T) (certFile, keyFile string) {
	t.Helper()
	ca, err := newAuthority()
	if err != nil {
		t.Fatal(err)
	}
	kp, err := ca.issueServing()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "crt"), filepath.Join(dir, "key")
	if err := os.WriteFile(certFile, kp.certPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, kp.keyPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile
}
