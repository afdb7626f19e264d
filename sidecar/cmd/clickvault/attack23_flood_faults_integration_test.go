//go:build faults

package main

import (
	"testing"
	"time"
)

// TestFaultOneInsertFloodOfMillions is TestAttack23OneInsertFloodSlowsEveryone
// at the size the attack was found with: one INSERT of 3,000,000 junk rows
// (CLICKVAULT_MILLION_FLOOD_ROWS), alice's second backup half a minute
// later. About 90 s.
func TestFaultOneInsertFloodOfMillions(t *testing.T) {
	floodSlowsNoOne(t, "'explode', toString(number)", envInt("CLICKVAULT_MILLION_FLOOD_ROWS", 3000000), 30*time.Second)
}
