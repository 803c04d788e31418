// Package migrate reports what --nginx-compat would do with the Ingresses
// written for ingress-nginx, before anyone switches: per Ingress, served
// unchanged, served with differences (listed) or refused (why), and the
// ingress-nginx ConfigMap keys in use with this controller's equivalent.
// It reads objects and changes nothing.
package migrate

import (
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"

	"ingress-controller/internal/translate"
	"ingress-controller/pkg/lbconfig"
)

// Verdict is what --nginx-compat does with one Ingress.
type Verdict string

// Verdicts.
const (
	Unchanged   Verdict = "served unchanged"
	Differences Verdict = "served with differences"
	Refused     Verdict = "refused"
)

// refusing are the problem reasons that keep an Ingress from being served.
var refusing = []string{"RefusedAnnotation", "InvalidBasicAuth", "InvalidExternalAuth", "ForeignIngressClass"}

// Report is the whole report.
type Report struct {
	// Class is the ingress-nginx class reported on.
	Class     string          `json:"class"`
	Ingresses []IngressReport `json:"ingresses"`
	Summary   Summary         `json:"summary"`
	// ConfigMap is the ingress-nginx ConfigMap read, "namespace/name", or
	// "" when none was found.
	ConfigMap string      `json:"configMap,omitempty"`
	Settings  []ConfigKey `json:"settings,omitempty"`
}

// IngressReport is the verdict on one Ingress of the class.
type IngressReport struct {
	Namespace string  `json:"namespace"`
	Name      string  `json:"name"`
	Verdict   Verdict `json:"verdict"`
	// Notes are the translator's problems with the Ingress: why it is
	// refused, or what differs.
	Notes []Note `json:"notes,omitempty"`
}

// Note is one problem with an Ingress.
type Note struct {
	Field   string `json:"field"`
	Reason  string `json:"reason"`
	Message string `json:"message"`
}

// Summary counts the Ingresses by verdict.
type Summary struct {
	Total       int `json:"total"`
	Unchanged   int `json:"servedUnchanged"`
	Differences int `json:"servedWithDifferences"`
	Refused     int `json:"refused"`
}

// ConfigKey is one key of the ingress-nginx ConfigMap.
type ConfigKey struct {
	Key   string `json:"key"`
	Value string `json:"value"`
	// Ours is this controller's equivalent, or "no equivalent: ...".
	Ours string `json:"ours"`
	// Global is set for a key that protects every Ingress: those that
	// relied on it are served without it.
	Global bool `json:"globalProtection,omitempty"`
}

// Build translates snap with --nginx-compat for the ingress-nginx class
// opts.NginxIngressClass and reports on every Ingress of that class, and
// on settings, the data of the ingress-nginx ConfigMap configMap ("" for
// none).
func Build(snap *translate.Snapshot, opts translate.Options, configMap string, settings map[string]string) Report {
	opts.NginxCompat = true
	opts.NginxIngressClass = cmp.Or(opts.NginxIngressClass, translate.DefaultNginxIngressClass)
	if len(opts.NginxAllowedResponseHeaders) == 0 {
		opts.NginxAllowedResponseHeaders = allowedResponseHeaders(settings)
	}
	_, problems := translate.Ingresses(snap, opts)
	r := Report{Class: opts.NginxIngressClass, ConfigMap: configMap}
	// An IngressClass of that name that another controller owns keeps all
	// of them out; the translator reports it on the IngressClass.
	var foreign []Note
	byObject := map[lbconfig.ObjectRef][]translate.Problem{}
	for _, p := range problems {
		byObject[p.Object] = append(byObject[p.Object], p)
		if p.Object.Kind == "IngressClass" && p.Reason == "ForeignIngressClass" {
			foreign = append(foreign, Note{Field: "IngressClass " + p.Object.Name + " " + p.Field, Reason: p.Reason, Message: p.Message})
		}
	}
	defaultClass := ""
	if def := translate.DefaultClass(snap.IngressClasses); def != nil {
		defaultClass = def.Name
	}
	for _, ing := range snap.Ingresses {
		class, ok := translate.ClassOf(ing)
		if !ok {
			class = defaultClass
		}
		if class != opts.NginxIngressClass {
			continue
		}
		ir := IngressReport{Namespace: ing.Namespace, Name: ing.Name, Verdict: Unchanged, Notes: slices.Clone(foreign)}
		if len(foreign) > 0 {
			ir.Verdict = Refused
		}
		for _, p := range byObject[lbconfig.ObjectRef{Kind: "Ingress", Namespace: ing.Namespace, Name: ing.Name}] {
			ir.Notes = append(ir.Notes, Note{Field: p.Field, Reason: p.Reason, Message: p.Message})
			switch {
			case slices.Contains(refusing, p.Reason):
				ir.Verdict = Refused
			case ir.Verdict == Unchanged:
				ir.Verdict = Differences
			}
		}
		r.Ingresses = append(r.Ingresses, ir)
		r.Summary.Total++
		switch ir.Verdict {
		case Unchanged:
			r.Summary.Unchanged++
		case Differences:
			r.Summary.Differences++
		case Refused:
			r.Summary.Refused++
		}
	}
	slices.SortFunc(r.Ingresses, func(a, b IngressReport) int {
		return cmp.Or(strings.Compare(a.Namespace, b.Namespace), strings.Compare(a.Name, b.Name))
	})
	for key, value := range settings {
		ours, global := equivalent(key, value)
		r.Settings = append(r.Settings, ConfigKey{Key: key, Value: value, Ours: ours, Global: global})
	}
	slices.SortFunc(r.Settings, func(a, b ConfigKey) int { return strings.Compare(a.Key, b.Key) })
	return r
}

// WriteJSON writes the report as indented JSON.
func (r Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// WriteText writes the report as tables, for people.
func (r Report) WriteText(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "INGRESS\tVERDICT\tWHY\n")
	for _, ir := range r.Ingresses {
		why := ""
		if len(ir.Notes) > 0 {
			why = noteLine(ir.Notes[0])
		}
		fmt.Fprintf(tw, "%s/%s\t%s\t%s\n", ir.Namespace, ir.Name, ir.Verdict, why)
		for _, n := range ir.Notes[min(1, len(ir.Notes)):] {
			fmt.Fprintf(tw, "\t\t%s\n", noteLine(n))
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	s := r.Summary
	fmt.Fprintf(w, "\n%d Ingresses of class %q: %d served unchanged, %d served with differences, %d refused.\n",
		s.Total, r.Class, s.Unchanged, s.Differences, s.Refused)
	if r.ConfigMap == "" {
		_, err := fmt.Fprintf(w, "\nNo ingress-nginx ConfigMap read: check its global settings by hand.\n")
		return err
	}
	fmt.Fprintf(w, "\nConfigMap %s:\n", r.ConfigMap)
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "KEY\tVALUE\tOURS\n")
	for _, k := range r.Settings {
		ours := k.Ours
		if k.Global {
			ours = "GLOBAL PROTECTION, not carried over: " + ours
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\n", k.Key, oneLine(k.Value), ours)
	}
	return tw.Flush()
}

func noteLine(n Note) string {
	return fmt.Sprintf("%s: %s (%s)", n.Field, oneLine(n.Message), n.Reason)
}

// oneLine keeps a value on one line of a table, and short.
func oneLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	const max = 200
	if len(s) > max {
		s = s[:max] + "..."
	}
	return s
}

// equivalents are this controller's counterparts of ingress-nginx
// ConfigMap keys; a key that is not here has none.
var equivalents = map[string]string{
	"proxy-body-size":                 "not read: an nginx Ingress without the annotation gets ingress-nginx's default, 1m; set nginx.ingress.kubernetes.io/proxy-body-size (or ingress-controller.io/max-body-size) on each Ingress",
	"proxy-connect-timeout":           "not read: set the annotation (or ingress-controller.io/connect-timeout) on each Ingress; the default is 5s",
	"proxy-read-timeout":              "not read: set the annotation (or ingress-controller.io/response-timeout and idle-timeout) on each Ingress; the default is 60s",
	"proxy-send-timeout":              "not read: set the annotation (or ingress-controller.io/send-timeout) on each Ingress; the default is 60s",
	"proxy-next-upstream-tries":       "ingress-controller.io/retries on each Ingress",
	"load-balance":                    "ingress-controller.io/load-balance on each Ingress",
	"ssl-redirect":                    "not read: set the annotation (or ingress-controller.io/ssl-redirect) on each Ingress; the default is true",
	"force-ssl-redirect":              "no global equivalent: nginx.ingress.kubernetes.io/force-ssl-redirect on each Ingress",
	"ssl-protocols":                   "no equivalent: TLS 1.2 and 1.3 with Mozilla's intermediate settings",
	"ssl-ciphers":                     "no equivalent: Mozilla's intermediate ciphers",
	"ssl-session-tickets":             "--tls-session-resumption",
	"enable-access-log":               "--access-log",
	"disable-access-log":              "--access-log (off by default)",
	"log-format-upstream":             "no equivalent: --access-log writes a fixed set of fields, --log-format=json for JSON",
	"log-format-escape-json":          "--log-format=json",
	"worker-processes":                "--haproxy-threads for --provider=haproxy; the builtin uses every CPU",
	"max-worker-connections":          "--max-connections",
	"large-client-header-buffers":     "--max-request-header-bytes",
	"client-header-buffer-size":       "--max-request-header-bytes",
	"client-body-timeout":             "--client-body-timeout",
	"use-http2":                       "HTTP/2 is always on for HTTPS",
	"allow-snippet-annotations":       "snippets are never run; an Ingress with one is refused",
	"annotations-risk-level":          "no equivalent: a protection that cannot be honoured refuses the Ingress",
	"allow-cross-namespace-resources": "no equivalent: Secrets (basic authentication, proxy-ssl-secret) are read from the Ingress's own namespace only; an Ingress naming another's is refused",
	"use-forwarded-headers":           "no equivalent: X-Forwarded-For and X-Real-IP are set from the connection, never trusted from clients",
	"compute-full-forwarded-for":      "no equivalent: X-Forwarded-For is replaced with the client's address",
	"forwarded-for-header":            "no equivalent: X-Forwarded-For",
	"use-proxy-protocol":              "no equivalent",
	"hsts":                            "no equivalent: no Strict-Transport-Security header is added",
	"hsts-max-age":                    "no equivalent",
	"hsts-include-subdomains":         "no equivalent",
	"hsts-preload":                    "no equivalent",
	"keep-alive":                      "no equivalent: idle client connections are closed after the provider's idle timeout",
	"upstream-keepalive-connections":  "no equivalent: backend connections are pooled by the provider",
	"server-tokens":                   "no equivalent",
	"add-headers":                     "not read (a ConfigMap of response headers): ingress-controller.io/response-headers on each Ingress",
	"proxy-set-headers":               "not read (a ConfigMap of request headers): ingress-controller.io/request-headers on each Ingress",
	"limit-req-status-code":           "not read: set ingress-controller.io/limit-status-code on each Ingress with a rate limit; the default is 503, as ingress-nginx's",
	"limit-conn-status-code":          "not read: set ingress-controller.io/limit-status-code on each Ingress with a rate limit (one code for every limit); the default is 503, as ingress-nginx's",
	"custom-http-errors":              "not read (error pages from --default-backend-service for every Ingress): set ingress-controller.io/error-statuses with ingress-controller.io/error-backend on each Ingress",
	"global-allowed-response-headers": "--nginx-allowed-response-headers (the same names; case does not matter here); this report reads custom-headers with them",
}

// allowedResponseHeaders are the names of the ConfigMap's
// global-allowed-response-headers, with which the report reads
// custom-headers as --nginx-allowed-response-headers would.
func allowedResponseHeaders(settings map[string]string) []string {
	var out []string
	for name := range strings.SplitSeq(settings["global-allowed-response-headers"], ",") {
		if name = strings.TrimSpace(name); name != "" {
			out = append(out, name)
		}
	}
	return out
}

// globalProtections are ConfigMap keys that protect every Ingress: an
// Ingress that relied on one carries no annotation saying so.
var globalProtections = []string{
	"global-auth-url", "global-auth-method", "global-auth-signin", "global-auth-snippet",
	"whitelist-source-range", "allowlist-source-range", "denylist-source-range",
	"block-cidrs", "block-user-agents", "block-referers",
	"enable-modsecurity", "enable-owasp-modsecurity-crs", "modsecurity-snippet",
	"global-rate-limit-memcached-host",
}

// equivalent returns this controller's counterpart of the ingress-nginx
// ConfigMap key set to value, and whether that turns on a global
// protection.
func equivalent(key, value string) (string, bool) {
	if slices.Contains(globalProtections, key) {
		v := strings.TrimSpace(value)
		return "no equivalent", v != "" && v != "false"
	}
	if ours, ok := equivalents[key]; ok {
		return ours, false
	}
	return "no equivalent", false
}
