package config

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
)

const withCopies = minimal + `
[[copy]]
name = "dr"
endpoint = "http://127.0.0.1:9200"
bucket = "dr-backups"
access_key = "dr-access-789"
secret_key = "dr-secret-012"

[[copy]]
name = "same_store"
bucket = "archive"
endpoint = "http://127.0.0.1:9100"
secret_key = "s3-secret-456"
`

func TestCopyTargetsLoadWithDefaultsAndEnv(t *testing.T) {
	env := func() []string {
		return []string{"CLICKVAULT_COPY_DR_SECRET_KEY=dr-from-env", "CLICKVAULT_COPY_SAME_STORE_PREFIX=cv/archive"}
	}
	cfg, err := Load(writeConfig(t, withCopies), false, env)
	if err != nil {
		t.Fatal(err)
	}
	dr, ok := cfg.CopyTarget("dr")
	if !ok || dr.SecretKey.Reveal() != "dr-from-env" || dr.Region != "us-east-1" || dr.Prefix != "clickhouse" {
		t.Fatalf("dr = %+v", dr)
	}
	same, _ := cfg.CopyTarget("same_store")
	if same.Prefix != "cv/archive" || !cfg.SameStore(same) || cfg.SameStore(dr) {
		t.Fatalf("same_store = %+v, same store: %v, dr: %v", same, cfg.SameStore(same), cfg.SameStore(dr))
	}
	if got := strings.Join(cfg.CopyNames(), ","); got != "dr,same_store" {
		t.Fatalf("names = %s", got)
	}
	secrets := strings.Join(cfg.Secrets(), " ")
	if !strings.Contains(secrets, "dr-access-789") || !strings.Contains(secrets, "dr-from-env") {
		t.Fatalf("the copy's secrets are not among those redacted: %s", secrets)
	}
	var logged bytes.Buffer
	slog.New(slog.NewTextHandler(&logged, nil)).Info("config", "config", cfg)
	if strings.Contains(logged.String(), "dr-access-789") || strings.Contains(logged.String(), "dr-from-env") {
		t.Fatalf("a copy's secret was logged: %s", logged.String())
	}
}

func TestCopyTargetsRefusedNamingTheKey(t *testing.T) {
	cases := map[string]struct{ body, env, want string }{
		"no bucket":      {body: "[[copy]]\nname = \"dr\"\n", want: "copy.dr.bucket: is required"},
		"bad name":       {body: "[[copy]]\nname = \"DR site\"\nbucket = \"b\"\n", want: "copy[0].name: must be"},
		"twice":          {body: "[[copy]]\nname = \"dr\"\nbucket = \"a\"\n[[copy]]\nname = \"dr\"\nbucket = \"b\"\n", want: "copy.dr.name: names two"},
		"unknown key":    {body: "[[copy]]\nname = \"dr\"\nbucket = \"b\"\npassword = \"x\"\n", want: "copy[0].password: unknown key"},
		"bad endpoint":   {body: "[[copy]]\nname = \"dr\"\nbucket = \"b\"\nendpoint = \"minio:9000\"\n", want: "copy.dr.endpoint: must be an http"},
		"the primary":    {body: "[[copy]]\nname = \"dr\"\nbucket = \"backups\"\nendpoint = \"http://127.0.0.1:9100\"\nprefix = \"clickhouse/dr\"\n", want: "copy.dr.prefix: is the primary's place"},
		"retention key":  {body: "[[copy]]\nname = \"dr\"\nbucket = \"b\"\n[copy.retention]\nkeep_hours = 3\n", want: "copy[0].retention.keep_hours: unknown key"},
		"retention zero": {body: "[[copy]]\nname = \"dr\"\nbucket = \"b\"\n[copy.retention]\nkeep_full_backups = 0\n", want: "copy.dr.retention.keep_full_backups: must be at least 1"},
		"retention env":  {body: "[[copy]]\nname = \"dr\"\nbucket = \"b\"\n", env: "CLICKVAULT_COPY_DR_RETENTION=x", want: "CLICKVAULT_COPY_DR_RETENTION: names no key"},
		"calendar on a cluster": {body: "[cluster]\nname = \"vault\"\n[[copy]]\nname = \"dr\"\nbucket = \"b\"\n[copy.retention]\nkeep_monthly = 12\nmin_age = \"720h\"\n",
			want: "copy.dr.retention.keep_monthly: is a single server's rule"},
		"unknown target": {body: "[[copy]]\nname = \"dr\"\nbucket = \"b\"\n", env: "CLICKVAULT_COPY_DRX_BUCKET=c", want: "CLICKVAULT_COPY_DRX_BUCKET: names no key of a copy target"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			env := func() []string { return strings.Fields(c.env) }
			_, err := Load(writeConfig(t, minimal+c.body), false, env)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("want %q, got %v", c.want, err)
			}
			if strings.Contains(err.Error(), "s3-secret-456") {
				t.Fatalf("a secret in the error: %v", err)
			}
		})
	}
}

// TestCopyTargetRetention: a [copy.retention] is the target's own rules; a
// key it leaves out is 0 but keep_full_backups, which is the primary's; a
// target without one has none (the primary's rules apply).
func TestCopyTargetRetention(t *testing.T) {
	body := minimal + "[retention]\nkeep_full_backups = 4\n[[copy]]\nname = \"dr\"\nbucket = \"b\"\n[copy.retention]\nkeep_days = 30\n" +
		"[[copy]]\nname = \"near\"\nbucket = \"n\"\n"
	cfg, err := Load(writeConfig(t, body), false, func() []string { return nil })
	if err != nil {
		t.Fatal(err)
	}
	dr, _ := cfg.CopyTarget("dr")
	if dr.Retention == nil || *dr.Retention != (Retention{KeepFullBackups: 4, KeepDays: 30}) {
		t.Errorf("dr's retention = %+v", dr.Retention)
	}
	if near, _ := cfg.CopyTarget("near"); near.Retention != nil {
		t.Errorf("near's retention = %+v, want none", near.Retention)
	}
}

// TestCopyTargetsOnAClusterNode: a cluster node copies its shard and the
// sets to a [[copy]] target (docs/cluster.md#copies).
func TestCopyTargetsOnAClusterNode(t *testing.T) {
	cfg, err := Load(writeConfig(t, minimal+"[cluster]\nname = \"vault\"\n[[copy]]\nname = \"dr\"\nbucket = \"b\"\n"), false,
		func() []string { return nil })
	if err != nil {
		t.Fatal(err)
	}
	if dr, ok := cfg.CopyTarget("dr"); !ok || dr.Bucket != "b" || cfg.ClusterID() != "vault" {
		t.Errorf("dr = %+v, cluster id %q", dr, cfg.ClusterID())
	}
}
