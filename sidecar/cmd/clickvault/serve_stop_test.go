package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"testing"
)

// TestOnlyTheStopsOwnErrorIsForgiven: after SIGTERM, an error the stop
// made (context.Canceled, however wrapped) ends serve with exit 0, saying
// what it cut short; an error that came before the signal, a usage error,
// or any error with no signal keeps its exit code.
func TestOnlyTheStopsOwnErrorIsForgiven(t *testing.T) {
	stopped, stop := context.WithCancel(context.Background())
	stop()
	running := context.Background()
	cut := fmt.Errorf("claim copy target dr: %w", context.Canceled)
	owned := errors.New("copy target dr: the prefix belongs to another deployment")
	for _, c := range []struct {
		name    string
		ctx     context.Context
		err     error
		forgive bool
	}{
		{"cut short by the stop", stopped, cut, true},
		{"failed before the stop", stopped, owned, false},
		{"a usage error", stopped, &usageError{cut}, false},
		{"no stop asked", running, cut, false},
		{"no error", stopped, nil, false},
	} {
		var stderr bytes.Buffer
		err := stopIsNoFailure(c.ctx, c.err, &stderr)
		if forgiven := c.err != nil && err == nil; forgiven != c.forgive {
			t.Errorf("%s: %v, forgiven %v; want %v", c.name, err, forgiven, c.forgive)
		}
		if c.forgive && !bytes.Contains(stderr.Bytes(), []byte("stopped as asked, cutting short: claim copy target dr")) {
			t.Errorf("%s: stderr %q", c.name, stderr.String())
		}
	}
}
