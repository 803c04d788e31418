package kubernetes

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/cache"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"ingress-controller/internal/translate"
)

// Event reasons of the Gateways' Services (gatewayservice.go).
const (
	// ReasonServiceNameTaken: a user's Service or EndpointSlice has the
	// name of one we would keep for the Gateway.
	ReasonServiceNameTaken = "ServiceNameTaken"
	// ReasonServiceRefused: the API server refused the Gateway's Service
	// or EndpointSlice as invalid.
	ReasonServiceRefused = "ServiceRefused"
)

// syncServices makes the Services and EndpointSlices of the Gateways what
// status says, as planGatewayObjects plans, warning once about each
// object of a user in the way and logging once each address left out.
func (w *GatewayStatusWriter) syncServices(ctx context.Context, snap *translate.Snapshot, status *translate.GatewayAPIStatus) []error {
	want := wantGatewayObjects(snap, status)
	changes, clashes := planGatewayObjects(snap, want)
	noted := map[string]bool{}
	for _, o := range want {
		if first := o.takenBy; first != nil {
			key := fmt.Sprintf("taken %s/%s by %s", o.gateway.Namespace, o.gateway.Name, first.UID)
			noted[key] = true
			if !w.noted[key] {
				w.warn(o.gateway, ReasonServiceNameTaken, fmt.Sprintf("Service %s/%s is that of the older Gateway %s (class %s), whose name and class make the same name: this Gateway has none",
					o.service.Namespace, o.service.Name, first.Name, first.Spec.GatewayClassName))
			}
			continue
		}
		for _, why := range o.leftOut {
			key := "left out " + o.gateway.Namespace + "/" + o.gateway.Name + " " + why
			noted[key] = true
			if !w.noted[key] {
				w.log.Info("a Gateway address is left out of its EndpointSlice", "gateway", o.gateway.Namespace+"/"+o.gateway.Name, "address", why)
			}
		}
	}
	for _, c := range clashes {
		key := fmt.Sprintf("clash %s/%s %s %s %s", c.gateway.Namespace, c.gateway.Name, c.kind, c.object.GetName(), c.object.GetUID())
		noted[key] = true
		if !w.noted[key] {
			w.warn(c.gateway, ReasonServiceNameTaken, fmt.Sprintf("%s %s/%s exists and is not managed by %s (label %s=%s): it is left as it is, and this Gateway's %s is not kept",
				c.kind, c.object.GetNamespace(), c.object.GetName(), managedByValue, labelManagedBy, managedByValue, c.kind))
		}
	}
	var errs []error
	byName := indexObjects(snap.Gateways)
	for _, c := range changes {
		err := w.change(ctx, c)
		if apierrors.IsInvalid(err) && c.gateway != "" {
			// Retrying would fail the same way until the Gateway changes.
			key := "refused " + c.gateway + " " + err.Error()
			noted[key] = true
			if gw := byName[c.gateway]; gw != nil && !w.noted[key] {
				w.warn(gw, ReasonServiceRefused, err.Error())
			}
			continue
		}
		errs = append(errs, err)
	}
	w.noted = noted
	return errs
}

// warn records a Warning on gw and logs it.
func (w *GatewayStatusWriter) warn(gw *gatewayv1.Gateway, reason, msg string) {
	w.log.Warn(msg, "gateway", gw.Namespace+"/"+gw.Name, "reason", reason)
	if w.opts.Recorder == nil {
		return
	}
	ref := &corev1.ObjectReference{
		Kind: "Gateway", APIVersion: gatewayv1.GroupVersion.String(), Namespace: gw.Namespace, Name: gw.Name,
		UID: gw.UID, ResourceVersion: gw.ResourceVersion,
	}
	w.opts.Recorder.Event(ref, corev1.EventTypeWarning, reason, truncate(msg, maxEventMessage))
}

// change makes one write. An object gone, changed or created since the
// cache saw it is no error: its change wakes the writer again.
func (w *GatewayStatusWriter) change(ctx context.Context, c gatewayChange) error {
	ctx, cancel := context.WithTimeout(ctx, statusRequestTimeout)
	defer cancel()
	core, discovery := w.opts.Core.CoreV1(), w.opts.Core.DiscoveryV1()
	var err error
	kind := "Service"
	switch obj := c.obj.(type) {
	case *corev1.Service:
		switch c.op {
		case opCreate:
			_, err = core.Services(obj.Namespace).Create(ctx, obj, metav1.CreateOptions{})
		case opUpdate:
			_, err = core.Services(obj.Namespace).Update(ctx, obj, metav1.UpdateOptions{})
		case opDelete:
			err = core.Services(obj.Namespace).Delete(ctx, obj.Name, exactly(obj))
		}
	case *discoveryv1.EndpointSlice:
		kind = "EndpointSlice"
		switch c.op {
		case opCreate:
			_, err = discovery.EndpointSlices(obj.Namespace).Create(ctx, obj, metav1.CreateOptions{})
		case opUpdate:
			_, err = discovery.EndpointSlices(obj.Namespace).Update(ctx, obj, metav1.UpdateOptions{})
		case opDelete:
			err = discovery.EndpointSlices(obj.Namespace).Delete(ctx, obj.Name, exactly(obj))
		}
	}
	name := c.obj.GetNamespace() + "/" + c.obj.GetName()
	switch {
	case err == nil:
		w.log.Info("Gateway object written", "op", string(c.op), "kind", kind, "object", name, "gateway", c.gateway)
		return nil
	case apierrors.IsNotFound(err), apierrors.IsConflict(err), apierrors.IsAlreadyExists(err):
		return nil
	case apierrors.IsInvalid(err):
		return err
	}
	return fmt.Errorf("%s %s of %s: %w", c.op, kind, name, err)
}

// exactly deletes obj only if it is still the version the cache saw, so
// that a user's object of the same name made since, or ours relabelled,
// is not.
func exactly(obj metav1.Object) metav1.DeleteOptions {
	uid, rv := obj.GetUID(), obj.GetResourceVersion()
	return metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &uid, ResourceVersion: &rv}}
}

// onGatewayObjectInput wakes the Gateway API status writer when a Service
// or EndpointSlice comes or goes, or one of ours changes: it may be one
// in the way of ours, or ours edited.
func (s *Source) onGatewayObjectInput() cache.ResourceEventHandler {
	return notifyOnChange(s.gatewayKick.Fire, func(old, cur any) bool { return !isOursObject(old) && !isOursObject(cur) })
}

func isOursObject(obj any) bool {
	m, ok := obj.(metav1.Object)
	return ok && isOurs(m)
}
