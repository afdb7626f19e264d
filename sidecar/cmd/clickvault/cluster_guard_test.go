package main

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestClusterNameRefusedUntilWired: a config naming a cluster is refused
// (exit 2) by every command until sets are wired in, so a cluster node
// never backs up as a single server into the single-server layout.
func TestClusterNameRefusedUntilWired(t *testing.T) {
	path := filepath.Join(t.TempDir(), "config.toml")
	body := "[s3]\nbucket = \"backups\"\n"
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := loadConfig(path, true, func() []string { return nil }); err != nil {
		t.Fatalf("a single server's config: %v", err)
	}
	_, err := loadConfig(path, true, func() []string { return []string{"CLICKVAULT_CLUSTER_NAME=vault"} })
	var usage *usageError
	if !errors.As(err, &usage) || !strings.Contains(err.Error(), "cluster.name") || !strings.Contains(err.Error(), "docs/cluster.md") {
		t.Errorf("cluster.name set: %v, want a usage error naming the key and docs/cluster.md", err)
	}
}
