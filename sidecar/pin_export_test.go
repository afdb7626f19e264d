package sidecar

import "time"

// SetPinHeartbeat shortens the pins' heartbeat for a test and returns what
// puts it back.
func SetPinHeartbeat(d time.Duration) func() {
	old := pinHeartbeatEvery
	pinHeartbeatEvery = d
	return func() { pinHeartbeatEvery = old }
}
