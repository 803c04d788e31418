package lbconfig

import (
	"errors"
	"testing"
)

// checkField validates c and checks that the first problem is at field,
// or that there is none when field is "".
func checkField(t *testing.T, c *Config, field string) {
	t.Helper()
	err := c.Validate()
	if field == "" {
		if err != nil {
			t.Fatalf("Validate() = %v, want nil", err)
		}
		return
	}
	var fe *FieldError
	if !errors.As(err, &fe) {
		t.Fatalf("Validate() = %v, want a *FieldError", err)
	}
	if fe.Field != field {
		t.Errorf("field = %q (%v), want %q", fe.Field, err, field)
	}
}
