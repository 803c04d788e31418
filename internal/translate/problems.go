package translate

import (
	"cmp"
	"fmt"
	"slices"

	"ingress-controller/pkg/lbconfig"
)

// problems collects what is wrong with the input.
type problems []Problem

func (ps *problems) add(obj lbconfig.ObjectRef, field, reason, format string, args ...any) {
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
