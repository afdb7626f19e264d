package main

import (
	"bytes"
	"os"
	"os/exec"
	"regexp"
	"testing"
)

// TestNoStaticKeys: with no S3 keys in the config, ClickVault takes its
// own S3 credentials from the AWS SDK's default chain (here the
// environment) and lets ClickHouse use its own (here its environment, as
// an instance role or IRSA would give them): backups and a restore work.
func TestNoStaticKeys(t *testing.T) {
	h := newHarness(t)
	h.createShop(100)
	keyless := regexp.MustCompile(`(?m)^(access_key|secret_key) = .*$`).ReplaceAllString(h.readConfig(), "")
	config := h.config + ".keyless"
	h.writeFile(config, keyless)
	m := h.bed.MinIO
	env := append(os.Environ(), "AWS_ACCESS_KEY_ID="+m.AccessKey, "AWS_SECRET_ACCESS_KEY="+m.SecretKey,
		"AWS_EC2_METADATA_DISABLED=true")
	run := func(args ...string) {
		t.Helper()
		cmd := exec.CommandContext(h.ctx, clickvaultBinary(t), append([]string{"-c", config}, args...)...)
		cmd.Env = env
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Run(); err != nil {
			t.Fatalf("clickvault %v without keys in the config: %v\n%s", args, err, out.String())
		}
		if bytes.Contains(out.Bytes(), []byte(m.SecretKey)) {
			t.Fatalf("clickvault %v printed the secret key from the environment", args)
		}
	}
	run("backup")
	h.addRows(100, 10)
	run("backup")
	run("restore", "--target", "shop_keyless")
	if n := h.count("SELECT count() FROM shop_keyless.orders"); n != 110 {
		t.Fatalf("restored %d rows, want 110", n)
	}
	if chains := h.list(); len(chains) != 1 || chains[0].Depth != 2 {
		t.Fatalf("want one chain of two backups, got %+v", chains)
	}
}
