package main

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/clickvault/clickvault/sidecar/config"
)

// runBare runs the built CLI as a newcomer does: no CLICKVAULT_ variable,
// an empty home, nothing but PATH. It needs no test bed.
func runBare(t *testing.T, args ...string) (string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, clickvaultBinary(t), args...)
	cmd.Env = []string{"HOME=" + t.TempDir(), "PATH=" + os.Getenv("PATH")}
	out, err := cmd.CombinedOutput()
	code := 0
	if ee := (*exec.ExitError)(nil); errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("run clickvault %v: %v", args, err)
	}
	return string(out), code
}

// TestFirstContact: `clickvault list` on a machine without
// /etc/clickvault/config.toml says that file was looked for and is absent,
// each missing key with its environment variable, and where the commented
// example is; exit 2. A file that exists but lacks a key is named as read.
func TestFirstContact(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the CLI")
	}
	if _, err := os.Stat(defaultConfigPath); err == nil {
		t.Skipf("%s exists on this machine: not a first contact", defaultConfigPath)
	}
	out, code := runBare(t, "list")
	for _, want := range []string{defaultConfigPath + " was looked for and is absent", "s3.bucket: is required",
		"CLICKVAULT_S3_BUCKET", config.ExampleFile, config.ReferenceFile} {
		if !strings.Contains(out, want) {
			t.Errorf("clickvault list with no config does not say %q:\n%s", want, out)
		}
	}
	if code != exitUsage {
		t.Errorf("exit %d, want %d (configuration)", code, exitUsage)
	}
	t.Logf("clickvault list, no config:\n%s", out)

	path := filepath.Join(t.TempDir(), "config.toml")
	if err := os.WriteFile(path, []byte("[clickhouse]\ndatabase = \"shop\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	out, code = runBare(t, "-c", path, "list")
	if !strings.Contains(out, path+", with the environment's overrides") || !strings.Contains(out, "CLICKVAULT_S3_BUCKET") ||
		strings.Contains(out, "absent") || code != exitUsage {
		t.Errorf("a config without s3.bucket: exit %d, want %d naming %s as read and the variable:\n%s", code, exitUsage, path, out)
	}
}
