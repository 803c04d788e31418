package dnssync

import (
	"context"
	"errors"
	"fmt"
)

// ErrConflict says that the zone changed between the read a plan was made
// from and its apply: a precondition of a Change failed. The changes whose
// precondition held may have been applied; read again and plan again.
var ErrConflict = errors.New("the zone changed since it was read")

// Backend reads and changes zones on a DNS service.
type Backend interface {
	// Read returns the records of zone.
	Read(ctx context.Context, zone string) ([]RR, error)
	// Apply makes changes.Names, each Change whole or not at all and only
	// under its precondition. An error wrapping ErrConflict says a
	// precondition failed.
	Apply(ctx context.Context, changes Changes) error
}

// syncAttempts is how many times Sync reads and plans: once, and once more
// after a conflict. A zone that changes under every attempt is someone
// else's fight; the caller tries again later.
const syncAttempts = 2

// Syncer keeps the names one owner owns in a zone equal to a desired state.
type Syncer struct {
	backend Backend
	owner   string
}

// NewSyncer returns a Syncer that writes through backend as owner.
func NewSyncer(backend Backend, owner string) (*Syncer, error) {
	if err := CheckOwnerID(owner); err != nil {
		return nil, err
	}
	return &Syncer{backend: backend, owner: owner}, nil
}

// Result is what a Sync did.
type Result struct {
	// Changes is the plan of the last attempt: what was applied, and the
	// conflicts and invalid entries to warn about.
	Changes Changes
	// Attempts is how many times Sync read the zone: 2 after a conflict.
	Attempts int
}

// Sync reads the zone, plans and applies the changes, and does it once
// more if the zone changed in between. It writes nothing when nothing
// differs.
func (s *Syncer) Sync(ctx context.Context, desired Desired) (Result, error) {
	zone, err := CanonicalZone(desired.Zone)
	if err != nil {
		return Result{}, err
	}
	var res Result
	for {
		res.Attempts++
		current, err := s.backend.Read(ctx, zone)
		if err != nil {
			return res, fmt.Errorf("zone %s: read: %w", zone, err)
		}
		res.Changes = Plan(current, desired, s.owner)
		if len(res.Changes.Names) == 0 {
			return res, nil
		}
		err = s.backend.Apply(ctx, res.Changes)
		if err == nil {
			return res, nil
		}
		if !errors.Is(err, ErrConflict) || res.Attempts == syncAttempts {
			return res, fmt.Errorf("zone %s: apply %s: %w", zone, res.Changes.Summary(), err)
		}
	}
}
