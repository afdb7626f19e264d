package sidecar

import (
	"context"

	"github.com/clickvault/clickvault/sidecar/coord"
)

// Actions that pin what they read (coord/pins.go: a pin keeps a backup, and
// every backup it is built on, from cleanup while an operation reads it).
const (
	PinRestore = "restore"
	PinVerify  = "verify"
	PinCheck   = "check"
	PinCopy    = "copy"
)

type requestIDKey struct{}

// WithRequestID names the request an operation runs for, for the pins it
// takes (verify and check have no request field of their own).
func WithRequestID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, requestIDKey{}, id)
}

func requestIDFrom(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey{}).(string)
	return id
}

// TakePin pins every backup of database for action until the pin is
// released (coord.Bucket.TakePin); requestID "" takes the one
// WithRequestID put in ctx. A nil pin (none could be written) is valid.
func (s *engine) TakePin(ctx context.Context, database, action, requestID string) (*coord.Pin, error) {
	if requestID == "" {
		requestID = requestIDFrom(ctx)
	}
	return s.bucket.TakePin(ctx, database, action, requestID)
}
