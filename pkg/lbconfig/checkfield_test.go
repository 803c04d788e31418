package lbconfig

import (
	"errors"
	"testing"
)

// checkField validates c and checks that the first problem is at field,
// or that there is none when field is "". It returns Validate's error.
func checkField(t *testing.T, c *Config, field string) error {
	t.Helper()
	err := c.Validate()
	if field == "" {
		if err != nil {
			t.Fatalf("Validate() = %v, want nil", err)
		}
		return nil
	}
	var fe *FieldError
	if !errors.As(err, &fe) {
		t.Fatalf("Validate() = %v, want a *FieldError", err)
	}
	if fe.Field != field {
		t.Errorf("field = %q (%v), want %q", fe.Field, err, field)
	}
	return err
}
