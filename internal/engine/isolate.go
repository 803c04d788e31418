package engine

import (
	"context"
	"fmt"
	"slices"

	"ingress-controller/internal/translate"
	"ingress-controller/pkg/lbconfig"
	"ingress-controller/pkg/provider"
)

// When the provider rejects a config that the translator found nothing
// wrong with (HAProxy refuses a value, a port is held by another program),
// one object is usually at fault. Rather than keep every later change out
// until someone notices, the engine looks for the objects whose removal
// makes the provider accept the config, with the provider's Validator (a
// check that changes nothing that serves), halving the candidates: a
// single culprit among n objects costs about 2 log2(n) checks. The config
// without them is applied, and each gets a problem naming the provider's
// error. Candidates are the config's sources, opaque references here:
// translate.Without knows what leaving each out means.

// ReasonRejected is the problem reason of an object left out because the
// provider rejected the config it makes.
const ReasonRejected = "RejectedByProvider"

// maxIsolationChecks bounds the Validate calls of one isolation.
const maxIsolationChecks = 48

// isolation is one search for the objects a provider rejects.
type isolation struct {
	ctx  context.Context
	snap *translate.Snapshot
	opts translate.Options
	v    provider.Validator
	// served names the load balancers this process serves (see
	// Options.Assign); the others are never validated.
	served map[string]bool
	checks int
}

// isolated is a translation without some objects.
type isolated struct {
	// full is the whole translation; served the part this process serves.
	full, served *lbconfig.Config
	problems     []translate.Problem
}

// isolate returns the translation without the objects at fault, with
// their problems, and ok; ok is false when no such objects were found
// within the check budget (then nothing should be applied). cfg is the
// rejected config, the part of the translation this process serves.
func (e *Engine) isolate(ctx context.Context, snap *translate.Snapshot, cfg *lbconfig.Config, v provider.Validator, rejection error) (isolated, bool) {
	var candidates []lbconfig.ObjectRef
	served := map[string]bool{}
	for _, lb := range cfg.LoadBalancers {
		candidates = append(candidates, lb.Sources...)
		served[lb.Name] = true
	}
	slices.SortFunc(candidates, lbconfig.CompareObjectRefs)
	candidates = slices.Compact(candidates)
	if len(candidates) == 0 {
		return isolated{}, false
	}
	iso := &isolation{ctx: ctx, snap: snap, opts: e.opts.Translate, v: v, served: served}
	if _, ok := iso.try(candidates); !ok {
		return isolated{}, false // not the objects' doing (a flag, the machine)
	}
	culprits := iso.find(nil, candidates)
	if culprits == nil {
		return isolated{}, false
	}
	out, ok := iso.try(culprits)
	if !ok {
		return isolated{}, false
	}
	problems := out.problems
	for _, ref := range culprits {
		problems = append(problems, translate.Problem{
			Object: ref,
			Reason: ReasonRejected,
			Message: fmt.Sprintf("provider %s rejects the config this object makes, so it is left out and everything else is served: %v",
				e.opts.Provider.Name(), rejection),
		})
	}
	slices.SortFunc(problems, func(a, b translate.Problem) int { return lbconfig.CompareObjectRefs(a.Object, b.Object) })
	out.problems = problems
	e.log.Warn("the provider rejected the config; serving it without the objects at fault",
		"objects", fmt.Sprint(culprits), "checks", iso.checks, "error", rejection)
	return out, true
}

// find returns a subset of s whose removal (with excl's) the provider
// accepts, given that removing excl and all of s is accepted; nil if the
// check budget runs out.
func (iso *isolation) find(excl, s []lbconfig.ObjectRef) []lbconfig.ObjectRef {
	if len(s) == 1 {
		return s
	}
	a, b := s[:len(s)/2], s[len(s)/2:]
	for _, half := range [][]lbconfig.ObjectRef{a, b} {
		if _, ok := iso.try(concat(excl, half)); ok {
			return iso.find(excl, half)
		}
		if iso.checks >= maxIsolationChecks {
			return nil
		}
	}
	// Culprits in both halves: those of a with b removed, then those of
	// b with them removed.
	ca := iso.find(concat(excl, b), a)
	if ca == nil {
		return nil
	}
	cb := iso.find(concat(excl, ca), b)
	if cb == nil {
		return nil
	}
	return concat(ca, cb)
}

// try translates the snapshot without the objects in excl and asks the
// provider whether it would accept the part it serves.
func (iso *isolation) try(excl []lbconfig.ObjectRef) (isolated, bool) {
	if iso.checks >= maxIsolationChecks || iso.ctx.Err() != nil {
		return isolated{}, false
	}
	iso.checks++
	full, problems := translate.Ingresses(translate.Without(iso.snap, excl), iso.opts)
	if full.Validate() != nil {
		return isolated{}, false
	}
	served := full.Select(func(lb lbconfig.LoadBalancer) bool { return iso.served[lb.Name] })
	if err := iso.v.Validate(iso.ctx, served); err != nil {
		return isolated{}, false
	}
	return isolated{full: full, served: served, problems: problems}, true
}

func concat(a, b []lbconfig.ObjectRef) []lbconfig.ObjectRef {
	return append(slices.Clone(a), b...)
}
