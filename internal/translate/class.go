package translate

import (
	networkingv1 "k8s.io/api/networking/v1"

	"ingress-controller/pkg/lbconfig"
)

// legacyClassAnnotation is the pre-IngressClass way to pick a controller.
// Defined here so we need not import the deprecated v1beta1 API for it.
const legacyClassAnnotation = "kubernetes.io/ingress.class"

// ingressKind says whether an Ingress is ours, and with which semantics.
type ingressKind int

const (
	notOurs ingressKind = iota
	// ourIngress is of one of our classes.
	ourIngress
	// nginxIngress is of Options.NginxIngressClass, read as ingress-nginx
	// would (nginx.go).
	nginxIngress
)

// classifier decides which Ingresses are ours.
type classifier struct {
	className string
	// ours holds the names of IngressClasses with our controller. A name is
	// ours if any object of that name is, so snapshot order never matters.
	ours map[string]bool
	// defaultIsOurs says whether Ingresses without a class are ours.
	defaultIsOurs bool
	// nginxClass is Options.NginxIngressClass with Options.NginxCompat,
	// else "". It is "" too when that class belongs to another controller.
	nginxClass string
	// defaultKind is the kind of Ingresses without a class.
	defaultKind ingressKind
}

// newClassifier sorts the classes out and reports, with Options.NginxCompat,
// an IngressClass of the nginx class's name that another controller owns.
func newClassifier(classes []*networkingv1.IngressClass, opts Options, ps *problems) *classifier {
	c := &classifier{className: opts.IngressClass, ours: map[string]bool{}}
	for _, ic := range classes {
		if ic != nil && ic.Spec.Controller == opts.ControllerName {
			c.ours[ic.Name] = true
		}
	}
	if opts.NginxCompat {
		c.nginxClass = opts.NginxIngressClass
		if foreign := foreignNginxClass(classes, opts); foreign != nil {
			c.nginxClass = ""
			ps.add(lbconfig.ObjectRef{Kind: "IngressClass", Name: foreign.Name}, "spec.controller", "ForeignIngressClass",
				"--nginx-compat serves the Ingresses of class %q only when its IngressClass is ingress-nginx's (%s) or ours; this one is %q's, so they are left to that controller",
				foreign.Name, NginxControllerName, foreign.Spec.Controller)
		}
	}
	// Whether Ingresses without a class are served does not depend on
	// --nginx-compat (ingress-nginx itself needs --watch-ingress-without-class
	// for them); how they are read does, when the default class is also the
	// nginx class.
	if def := DefaultClass(classes); def != nil && c.isOurName(def.Name) {
		c.defaultIsOurs = true
		c.defaultKind = c.kindOf(def.Name)
	}
	return c
}

// foreignNginxClass returns an IngressClass named opts.NginxIngressClass
// whose spec.controller is neither ingress-nginx's nor ours, unless another
// object of that name is: F5's NGINX Ingress Controller, for one, also names
// its class "nginx", and its Ingresses carry its own annotations.
func foreignNginxClass(classes []*networkingv1.IngressClass, opts Options) *networkingv1.IngressClass {
	var foreign *networkingv1.IngressClass
	for _, ic := range classes {
		if ic == nil || ic.Name != opts.NginxIngressClass {
			continue
		}
		switch ic.Spec.Controller {
		case NginxControllerName, opts.ControllerName:
			return nil
		}
		if foreign == nil || ic.Spec.Controller < foreign.Spec.Controller {
			foreign = ic
		}
	}
	return foreign
}

// kind says whether ing belongs to us. The legacy annotation wins over
// spec.ingressClassName, as in ingress-nginx; an annotation that is present
// counts as set even when empty, as in the defaulting admission plugin.
func (c *classifier) kind(ing *networkingv1.Ingress) ingressKind {
	if name, ok := ClassOf(ing); ok {
		return c.kindOf(name)
	}
	if c.defaultIsOurs {
		return c.defaultKind
	}
	return notOurs
}

// ClassOf returns the class ing names: the legacy annotation's, which
// wins, or spec.ingressClassName; ok is false when it names none (it is
// then the default class's).
func ClassOf(ing *networkingv1.Ingress) (name string, ok bool) {
	if name, ok := ing.Annotations[legacyClassAnnotation]; ok {
		return name, true
	}
	if ing.Spec.IngressClassName != nil {
		return *ing.Spec.IngressClassName, true
	}
	return "", false
}

// kindOf is the kind of the Ingresses of class name. The nginx class comes
// first: a user who names one of our classes with --nginx-ingress-class
// asks for its Ingresses to be read as ingress-nginx's.
func (c *classifier) kindOf(name string) ingressKind {
	switch {
	case name == "":
		return notOurs
	case name == c.nginxClass:
		return nginxIngress
	case c.isOurName(name):
		return ourIngress
	}
	return notOurs
}

// isOurName reports whether name is the name of one of our classes.
func (c *classifier) isOurName(name string) bool {
	return name != "" && (name == c.className || c.ours[name])
}

// DefaultClass returns the default IngressClass, or nil. When several claim
// to be default, the newest wins (then the smallest name), exactly as the
// DefaultIngressClass admission plugin chooses.
func DefaultClass(classes []*networkingv1.IngressClass) *networkingv1.IngressClass {
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
