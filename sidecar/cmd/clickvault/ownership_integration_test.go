package main

import (
	"io"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// TestPrefixBelongsToOneDeployment: the first writer records its
// s3.deployment; backup, cleanup and serve of another deployment on the
// same prefix are refused at start naming both, readers are not, and the
// owner goes on.
func TestPrefixBelongsToOneDeployment(t *testing.T) {
	h := newHarnessWith(t, sidecarUsers)
	h.createShop(10)
	as := func(deployment string, args ...string) (string, int) {
		cmd := exec.CommandContext(h.ctx, clickvaultBinary(t), append([]string{"-c", h.config}, args...)...)
		cmd.Env = append(os.Environ(), "CLICKVAULT_S3_DEPLOYMENT="+deployment,
			"CLICKVAULT_SIDECAR_LISTEN="+freeAddr(t))
		out, err := cmd.CombinedOutput()
		h.assertNoSecrets(string(out))
		if code := exitCodeOf(err); err == nil || code >= 0 {
			return string(out), max(code, 0)
		}
		t.Fatalf("run clickvault %v: %v", args, err)
		return "", 0
	}
	if out, code := as("prod-eu", "backup"); code != 0 {
		t.Fatalf("first backup of prod-eu: exit %d\n%s", code, out)
	}
	if owner := h.object("cv/test/.clickvault/deployment.json"); !strings.Contains(owner, `"deployment": "prod-eu"`) {
		t.Fatalf("owner record: %s", owner)
	}
	for _, args := range [][]string{{"backup"}, {"cleanup"}, {"serve"}} {
		out, code := as("staging", args...)
		if code != 1 || !strings.Contains(out, "belongs to another deployment") ||
			!strings.Contains(out, `"prod-eu"`) || !strings.Contains(out, `"staging"`) {
			t.Errorf("clickvault %v as staging on prod-eu's prefix: exit %d, want 1 naming both:\n%s", args, code, out)
		}
	}
	if out, code := as("staging", "list"); code != 0 {
		t.Errorf("list only reads and must not be refused: exit %d\n%s", code, out)
	}
	if out, code := as("prod-eu", "backup"); code != 0 {
		t.Fatalf("second backup of prod-eu: exit %d\n%s", code, out)
	}
	if n := h.metaObjects(); n != 2 {
		t.Fatalf("%d backups, want prod-eu's 2 and none of staging's", n)
	}
}

// object reads one object of the bucket.
func (h *harness) object(key string) string {
	h.t.Helper()
	out, err := h.bed.MinIO.Client().GetObject(h.ctx, &s3.GetObjectInput{
		Bucket: aws.String(h.bed.MinIO.Bucket), Key: aws.String(key)})
	if err != nil {
		h.t.Fatalf("get %s: %v", key, err)
	}
	defer func() { _ = out.Body.Close() }()
	data, err := io.ReadAll(out.Body)
	if err != nil {
		h.t.Fatalf("read %s: %v", key, err)
	}
	return string(data)
}
