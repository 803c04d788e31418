package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"k8s.io/client-go/kubernetes"

	"ingress-controller/internal/migrate"
	kubesource "ingress-controller/internal/source/kubernetes"
	"ingress-controller/internal/translate"
)

// runMigrate is `ingress-controller migrate`: a report of what
// --nginx-compat would do with a cluster's, or a directory's, Ingresses
// written for ingress-nginx. It changes nothing.
func runMigrate(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("ingress-controller migrate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	from := fs.String("from", "", "the controller migrated from: ingress-nginx")
	manifests := fs.String("manifests", "", "directory of manifests to read (kubectl get -o yaml output works, Lists included) instead of a cluster")
	kubeconfig := fs.String("kubeconfig", "", "kubeconfig of the cluster to read (default: $KUBECONFIG, else ~/.kube/config, else in-cluster)")
	class := fs.String("nginx-ingress-class", translate.DefaultNginxIngressClass, "IngressClass name of the Ingresses written for ingress-nginx")
	configMap := fs.String("nginx-configmap", "ingress-nginx/ingress-nginx-controller", "namespace/name of ingress-nginx's ConfigMap, whose keys are listed with our equivalents")
	output := fs.String("output", "text", "text or json")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: ingress-controller migrate --from=ingress-nginx [--manifests=DIR] [flags]\n\n"+
			"Reports, per Ingress of the ingress-nginx class, whether --nginx-compat serves it unchanged,\n"+
			"with differences (listed) or refuses it (why), and the ingress-nginx ConfigMap keys in use.\n"+
			"It reads a cluster, or a directory of manifests, and changes nothing.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	switch {
	case fs.NArg() > 0:
		return fmt.Errorf("migrate: unexpected arguments: %s", strings.Join(fs.Args(), " "))
	case *from != "ingress-nginx":
		return fmt.Errorf("migrate: --from=%q: only ingress-nginx is known", *from)
	case *output != "text" && *output != "json":
		return fmt.Errorf("migrate: --output=%q is not text or json", *output)
	case *configMap != "" && !strings.Contains(*configMap, "/"):
		return fmt.Errorf("migrate: --nginx-configmap=%q is not namespace/name", *configMap)
	}
	var in migrate.Input
	var err error
	if *manifests != "" {
		in, err = migrate.ReadDir(*manifests, *configMap)
		if err != nil {
			return fmt.Errorf("migrate: --manifests: %w", err)
		}
	} else {
		restCfg, _, err := kubesource.LoadConfig(*kubeconfig, "ingress-controller/"+version+" (migrate)")
		if err != nil {
			return fmt.Errorf("migrate: --kubeconfig: %w", err)
		}
		client, err := kubernetes.NewForConfig(restCfg)
		if err != nil {
			return fmt.Errorf("migrate: --kubeconfig: %w", err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if in, err = migrate.ReadCluster(ctx, client, *configMap); err != nil {
			return fmt.Errorf("migrate: %w", err)
		}
	}
	opts := translateOptions(&flags{ingressClass: translate.DefaultIngressClass, httpPort: 80, httpsPort: 443})
	opts.NginxIngressClass = *class
	report := migrate.Build(in.Snapshot, opts, in.ConfigMap, in.Settings)
	if *output == "json" {
		return report.WriteJSON(stdout)
	}
	if err := report.WriteText(stdout); err != nil {
		return errors.Join(errors.New("migrate: write the report"), err)
	}
	return nil
}
