package translate

import (
	"cmp"
	"fmt"
	"slices"

	"ingress-controller/internal/clip"
	"ingress-controller/pkg/lbconfig"
)

// problems collects what is wrong with the input.
type problems []Problem

// add records a problem. String arguments are values from the object
// (annotation values, hosts, paths, names) and are clipped, so that a huge
// value does not become a huge log line and Event; errors must clip the
// values they quote themselves (with clip.Value).
func (ps *problems) add(obj lbconfig.ObjectRef, field, reason, format string, args ...any) {
	for i, a := range args {
		if s, ok := a.(string); ok {
			args[i] = clip.Value(s)
		}
	}
	*ps = append(*ps, Problem{Object: obj, Field: field, Reason: reason, Message: fmt.Sprintf(format, args...)})
}

// sorted returns the problems by object, field and message, each once. The
// same problem can be found twice, e.g. a bad EndpointSlice address used by
// two backends.
func (ps problems) sorted() []Problem {
	out := slices.Clone([]Problem(ps))
	slices.SortFunc(out, compareProblems)
	return slices.Compact(out)
}

func compareProblems(a, b Problem) int {
	return cmp.Or(
		lbconfig.CompareObjectRefs(a.Object, b.Object),
		cmp.Compare(a.Field, b.Field),
		cmp.Compare(a.Message, b.Message),
		cmp.Compare(a.Reason, b.Reason),
	)
}
