package main

import (
	"slices"
	"testing"

	"github.com/clickvault/clickvault/sidecar/config"
)

// TestCopyKeysAreRedacted: every [[copy]] target's keys go to the
// ClickHouse adapter as secrets to take out of what ClickHouse says
// (system.backups lists the RESTOREs read from a copy, its keys in their
// texts).
func TestCopyKeysAreRedacted(t *testing.T) {
	cfg := config.Config{Copy: []config.CopyTarget{
		{Name: "dr", S3Place: config.S3Place{AccessKey: "DRKEY", SecretKey: "DRSECRET"}},
		{Name: "cold", S3Place: config.S3Place{AccessKey: "COLDKEY", SecretKey: "COLDSECRET"}},
	}}
	got := copyKeys(cfg)
	for _, want := range []string{"DRKEY", "DRSECRET", "COLDKEY", "COLDSECRET"} {
		if !slices.Contains(got, want) {
			t.Errorf("copyKeys: %d keys, %s missing", len(got), want)
		}
	}
}
