package testbed_test

import (
	"context"
	"strings"
	"testing"

	"github.com/clickvault/clickvault/sidecar/internal/testbed"
)

// TestMissingPiecesSayWhichAndWhy: when libchdb or MinIO cannot be had, the
// error names which one and why, so a failing test run explains itself.
func TestMissingPiecesSayWhichAndWhy(t *testing.T) {
	ctx := context.Background()
	t.Run("libchdb path that does not exist", func(t *testing.T) {
		t.Setenv(testbed.EnvLibchdb, "/nonexistent/libchdb.so")
		_, err := testbed.Libchdb(ctx)
		wantMention(t, err, "libchdb", "no such file")
	})
	t.Run("minio path that does not exist", func(t *testing.T) {
		t.Setenv(testbed.EnvMinIO, "/nonexistent/minio")
		_, err := testbed.MinIOBinary(ctx)
		wantMention(t, err, "minio", "no such file")
	})
	t.Run("no npm to download libchdb", func(t *testing.T) {
		t.Setenv(testbed.EnvCacheDir, t.TempDir())
		t.Setenv(testbed.EnvLibchdb, "")
		t.Setenv("PATH", t.TempDir())
		_, err := testbed.Libchdb(ctx)
		wantMention(t, err, "libchdb", "npm is not installed")
	})
	t.Run("no go to build minio", func(t *testing.T) {
		t.Setenv(testbed.EnvCacheDir, t.TempDir())
		t.Setenv(testbed.EnvMinIO, "")
		t.Setenv("PATH", t.TempDir())
		_, err := testbed.MinIOBinary(ctx)
		wantMention(t, err, "minio", "executable file not found")
	})
}

func wantMention(t *testing.T, err error, words ...string) {
	t.Helper()
	if err == nil {
		t.Fatal("want an error, got none")
	}
	for _, w := range words {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q does not mention %q", err, w)
		}
	}
}
