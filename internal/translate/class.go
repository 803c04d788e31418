package translate

import (
	networkingv1 "k8s.io/api/networking/v1"
)

// legacyClassAnnotation is the pre-IngressClass way to pick a controller.
// Defined here so we need not import the deprecated v1beta1 API for it.
const legacyClassAnnotation = "kubernetes.io/ingress.class"

// classifier decides which Ingresses are ours.
type classifier struct {
	className string
	// ours holds the names of IngressClasses with our controller. A name is
	// ours if any object of that name is, so snapshot order never matters.
	ours map[string]bool
	// defaultIsOurs says whether Ingresses without a class are ours.
	defaultIsOurs bool
}

func newClassifier(classes []*networkingv1.IngressClass, opts Options) *classifier {
	c := &classifier{className: opts.IngressClass, ours: map[string]bool{}}
	for _, ic := range classes {
		if ic != nil && ic.Spec.Controller == opts.ControllerName {
			c.ours[ic.Name] = true
		}
	}
	if def := defaultClass(classes); def != nil {
		c.defaultIsOurs = c.named(def.Name)
	}
	return c
}

// isOurs reports whether ing belongs to us. The legacy annotation wins over
// spec.ingressClassName, as in ingress-nginx; an annotation that is present
// counts as set even when empty, as in the defaulting admission plugin.
func (c *classifier) isOurs(ing *networkingv1.Ingress) bool {
	if name, ok := ing.Annotations[legacyClassAnnotation]; ok {
		return c.named(name)
	}
	if ing.Spec.IngressClassName != nil {
		return c.named(*ing.Spec.IngressClassName)
	}
	return c.defaultIsOurs
}

func (c *classifier) named(name string) bool {
	return name != "" && (name == c.className || c.ours[name])
}

// defaultClass returns the default IngressClass, or nil. When several claim
// to be default, the newest wins (then the smallest name), exactly as the
// DefaultIngressClass admission plugin chooses.
func defaultClass(classes []*networkingv1.IngressClass) *networkingv1.IngressClass {
	var best *networkingv1.IngressClass
	for _, ic := range classes {
		if ic == nil || ic.Annotations[networkingv1.AnnotationIsDefaultIngressClass] != "true" {
			continue
		}
		if best == nil {
			best = ic
			continue
		}
		switch ic.CreationTimestamp.Compare(best.CreationTimestamp.Time) {
		case 1:
			best = ic
		case 0:
			if ic.Name < best.Name {
				best = ic
			}
		}
	}
	return best
}
