package translate

import (
	"testing"

	"ingress-controller/pkg/lbconfig"
)

// For the tests of package translate_test, which may import the file
// source (it imports translate).
var GoldenOptions = goldenOptions

func CheckResult(t *testing.T, cfg *lbconfig.Config, problems []Problem) {
	t.Helper()
	checkResult(t, cfg, problems)
}
