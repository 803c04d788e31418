package nettest

import (
	"fmt"
	"os/exec"
	"strings"
)

// RunIP runs ip once per argument list, in order, and stops at the first
// failure, whose error quotes ip's output.
func RunIP(argLists ...[]string) error {
	for _, args := range argLists {
		out, err := exec.Command("ip", args...).CombinedOutput()
		if err != nil {
			return fmt.Errorf("ip %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
		}
	}
	return nil
}
