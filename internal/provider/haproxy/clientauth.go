package haproxy

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"ingress-controller/pkg/lbconfig"
)

// Client certificates (lbconfig.ClientAuth) on an HTTPS listener. The
// handshake asks for one by server name: the crt-list line of a virtual
// host with client authentication carries its ca-file and verify, and
// the catch-all's are the bind's (the other lines then say "verify
// none"). OptionalNoCA serves certificates that do not verify, which
// needs the bind's ca-ignore-err and crt-ignore-err; the other modes of
// such a listener then refuse those certificates by rule, closing the
// connection as a failed handshake would.
//
// Requests: the virtual host the server name picks (ssl_fc_sni, through
// the Host maps) and the one the Host picks must authenticate alike, else
// 421; the certificate headers are always removed, then set for the hosts
// that pass the certificate on.

// clientAuths are the distinct client authentications of one listener.
type clientAuths struct {
	// groups are the distinct settings; group[k] is the index in groups
	// of virtual host k's, or -1.
	groups []*lbconfig.ClientAuth
	group  []int
	pass   []bool
	// files are the CA bundles of the groups.
	files []string
	// ignoreErrors is set when a group serves certificates that do not
	// verify (OptionalNoCA).
	ignoreErrors bool
	catchAll     int // virtual host index of the catch-all, or -1
}

// clientAuths compiles the ClientAuth of l's virtual hosts and writes
// their CA files; nil when none has one.
func (r *renderer) clientAuths(l lbconfig.Listener) (*clientAuths, error) {
	cas := &clientAuths{group: make([]int, len(l.VirtualHosts)), pass: make([]bool, len(l.VirtualHosts)), catchAll: -1}
	for k, vh := range l.VirtualHosts {
		cas.group[k] = -1
		if vh.Hostname == "" {
			cas.catchAll = k
		}
		a := vh.ClientAuth
		if a == nil {
			continue
		}
		if err := checkClientAuth(l, vh); err != nil {
			return nil, fmt.Errorf("virtual host %d (%q): clientAuth%w", k, vh.Hostname, err)
		}
		cas.pass[k] = a.PassCertificate
		i := slices.IndexFunc(cas.groups, a.Same)
		if i < 0 {
			i = len(cas.groups)
			file := certsDir + "/" + safeName("client-ca-", r.at.key) + "-" + strconv.Itoa(i) + ".pem"
			r.files[file] = slices.Concat(a.CAPEM, []byte("\n"))
			cas.groups, cas.files = append(cas.groups, a), append(cas.files, file)
			cas.ignoreErrors = cas.ignoreErrors || a.Mode == lbconfig.ClientAuthOptionalNoCA
		}
		cas.group[k] = i
	}
	if len(cas.groups) == 0 {
		return nil, nil
	}
	return cas, nil
}

// checkClientAuth checks what this provider renders of vh's ClientAuth;
// errors start with the field's path after "clientAuth".
func checkClientAuth(l lbconfig.Listener, vh lbconfig.VirtualHost) error {
	a := vh.ClientAuth
	if l.Protocol != lbconfig.ProtocolHTTPS {
		return errors.New(": only HTTPS listeners authenticate clients")
	}
	if _, err := lbconfig.CAPool(a.CAPEM); err != nil {
		return fmt.Errorf(".caPEM: %w", err)
	}
	switch a.Mode {
	case lbconfig.ClientAuthRequired, lbconfig.ClientAuthOptional, lbconfig.ClientAuthOptionalNoCA:
	default:
		return fmt.Errorf(".mode: unknown mode %q", a.Mode)
	}
	if a.Depth != 0 {
		return errors.New(".depth: the haproxy provider cannot bound the depth of a client certificate's chain")
	}
	return nil
}

// options are the ssl options of group i, for a crt-list line or the
// bind line.
func (cas *clientAuths) options(i int) string {
	if i < 0 {
		return "verify none"
	}
	verify := "optional"
	if cas.groups[i].Mode == lbconfig.ClientAuthRequired {
		verify = "required"
	}
	return "verify " + verify + " ca-file " + cas.files[i]
}

// crtOptions are the options of virtual host k's crt-list line: "" when
// the bind's serve it.
func (cas *clientAuths) crtOptions(k int) string {
	if cas == nil || (cas.group[k] < 0 && (cas.catchAll < 0 || cas.group[cas.catchAll] < 0)) {
		return ""
	}
	return " [" + cas.options(cas.group[k]) + "]"
}

// bindOptions are the bind line's: the catch-all's client authentication,
// and the errors a group of mode OptionalNoCA lets through.
func (cas *clientAuths) bindOptions() string {
	if cas == nil {
		return ""
	}
	var opts string
	if cas.catchAll >= 0 && cas.group[cas.catchAll] >= 0 {
		opts = " " + cas.options(cas.group[cas.catchAll])
	}
	if cas.ignoreErrors {
		opts += " ca-ignore-err all crt-ignore-err all"
	}
	return opts
}

// sniHosts picks a virtual host for the server name as the Host rules
// pick one for the Host: the same maps, into txn.sniv.
type sniHosts struct {
	hostsMap, wildMap string // "" when empty
	multi             *multiLabels
	multiMap          string
	catchAll          string
}

// lines writes the rules that set txn.sniv to the virtual host of the
// connection's server name.
func (sni sniHosts) lines(w *lines, files map[string][]byte) {
	w.line("    http-request set-var(txn.sni) ssl_fc_sni,lower,regsub([.]$,)")
	if sni.hostsMap != "" {
		w.line("    http-request set-var(txn.sniv) var(txn.sni),map_str(" + sni.hostsMap + ") if { var(txn.sni) -m found }")
	}
	if sni.wildMap != "" {
		w.line("    http-request set-var(txn.sniv) var(txn.sni),regsub(^[^.]+,),map_str(" + sni.wildMap + ") if !{ var(txn.sniv) -m found } { var(txn.sni) -m reg ^[^.] }")
	}
	if rule := sni.multi.write(files, sni.multiMap, "http-request", "txn.sni", "txn.sniv"); rule != "" {
		w.line(rule)
	}
	if sni.catchAll != "" {
		w.line("    http-request set-var(txn.sniv) str(" + sni.catchAll + ") if !{ var(txn.sniv) -m found }")
	}
}

// lines writes the request rules, after sniHosts': 421 where the Host's
// virtual host (txn.vhost) authenticates otherwise than the server
// name's (txn.sniv), the certificate headers removed, the connections
// that a group refuses closed, and the headers set where asked.
func (cas *clientAuths) lines(w *lines, files map[string][]byte, prefix string) {
	if cas == nil {
		return
	}
	var groupMap, passMap lines
	for k, g := range cas.group {
		if g >= 0 {
			groupMap.line("v" + strconv.Itoa(k) + " c" + strconv.Itoa(g))
		}
		if cas.pass[k] {
			passMap.line("v" + strconv.Itoa(k) + " 1")
		}
	}
	gm, pm := prefix+"clientauth.map", prefix+"clientcert.map"
	files[gm] = []byte(groupMap.String())
	for _, v := range [][2]string{{"txn.vhost", "txn.cauth"}, {"txn.sniv", "txn.snicauth"}} {
		w.line("    http-request set-var(" + v[1] + ") var(" + v[0] + "),map_str(" + gm + ",-) if { var(" + v[0] + ") -m found }")
		w.line("    http-request set-var(" + v[1] + ") str(-) if !{ var(" + v[1] + ") -m found }")
	}
	w.line(`    http-request return status 421 content-type "text/plain; charset=utf-8" string "` + misdirectedBody + `" if !{ var(txn.cauth),strcmp(txn.snicauth) eq 0 }`)
	for _, h := range lbconfig.ClientCertHeaderSpellings() {
		w.line("    http-request del-header " + h)
	}
	if cas.ignoreErrors {
		var strict []string
		for i, g := range cas.groups {
			if g.Mode != lbconfig.ClientAuthOptionalNoCA {
				strict = append(strict, "c"+strconv.Itoa(i))
			}
		}
		if len(strict) > 0 {
			w.line("    http-request reject if { var(txn.cauth) -m str " + strings.Join(strict, " ") + " } { ssl_c_used } !{ ssl_c_verify 0 }")
		}
	}
	if passMap.Len() == 0 {
		return
	}
	files[pm] = []byte(passMap.String())
	w.line("    http-request set-var(txn.cpass) var(txn.vhost),map_str(" + pm + ") if { var(txn.vhost) -m found }")
	pass := "{ var(txn.cpass) -m found }"
	w.line("    http-request set-header ssl-client-verify NONE if " + pass + " !{ ssl_c_used }")
	w.line("    http-request set-header ssl-client-verify SUCCESS if " + pass + " { ssl_c_used } { ssl_c_verify 0 }")
	w.line("    http-request set-header ssl-client-verify FAILED:%[ssl_c_verify] if " + pass + " { ssl_c_used } !{ ssl_c_verify 0 }")
	w.line("    http-request set-header ssl-client-subject-dn %[ssl_c_s_dn(,0,rfc2253)] if " + pass + " { ssl_c_used }")
	w.line("    http-request set-header ssl-client-issuer-dn %[ssl_c_i_dn(,0,rfc2253)] if " + pass + " { ssl_c_used }")
	w.line(`    http-request set-header ssl-client-cert "-----BEGIN%%20CERTIFICATE-----%%0A%[ssl_c_der,base64,url_enc]%%0A-----END%%20CERTIFICATE-----%%0A" if ` + pass + " { ssl_c_used }")
}

const misdirectedBody = "421 misdirected request: this host needs a connection of its own"
