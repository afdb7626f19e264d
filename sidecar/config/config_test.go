package config

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func writeConfig(t *testing.T, body string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "config.toml")
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

const minimal = `
[clickhouse]
addr = "127.0.0.1:9000"
database = "shop"
password = "ch-pass-123"
[s3]
endpoint = "http://127.0.0.1:9100"
bucket = "backups"
secret_key = "s3-secret-456"
`

func noEnv() []string { return nil }

func TestLoadMinimalWithEnvOverride(t *testing.T) {
	path := writeConfig(t, minimal)
	env := func() []string {
		return []string{"CLICKVAULT_S3_SECRET_KEY=from-env", "CLICKVAULT_RETENTION_KEEP_FULL_BACKUPS=2",
			"CLICKVAULT_CLICKHOUSE_DATABASES=a,b", "CLICKVAULT_CACHE=/tmp/x", "PATH=/bin"}
	}
	cfg, err := Load(path, false, env)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.S3.SecretKey.Reveal() != "from-env" || cfg.Retention.KeepFullBackups != 2 {
		t.Fatalf("env did not win: %+v", cfg)
	}
	if got := cfg.DatabaseList(); strings.Join(got, ",") != "a,b" {
		t.Fatalf("databases = %v", got)
	}
	if cfg.FullInterval().Hours() != 7*24 || cfg.S3.Prefix != "clickhouse" {
		t.Fatalf("defaults lost: %v %q", cfg.FullInterval(), cfg.S3.Prefix)
	}
}

func TestTableSetsAndBackupSettings(t *testing.T) {
	cfg, err := Load(writeConfig(t, minimal+"\n[tables.shop]\nexclude_tables = [\"logs\", \"tmp\"]\n[backup]\ns3_storage_class = \"STANDARD_IA\"\nmax_backup_bandwidth = 1000000\n"), false, noEnv)
	if err != nil {
		t.Fatal(err)
	}
	if got := cfg.TableSets()["shop"].String(); got != "all but logs, tmp" {
		t.Fatalf("table set of shop: %s", got)
	}
	if cfg.Backup.S3StorageClass != "STANDARD_IA" || cfg.Backup.MaxBackupBandwidth != 1000000 ||
		!cfg.Backup.AllowS3NativeCopy || !cfg.Backup.DeduplicateFiles {
		t.Fatalf("backup settings: %+v", cfg.Backup)
	}
}

func TestBadConfigNamesTheKey(t *testing.T) {
	slack := "\n[[notifications.providers]]\ntype = \"slack\"\nwebhook_url = \"https://hooks.example/x\"\n"
	cases := []struct{ name, body, key string }{
		{"unknown key", minimal + "\n[retention]\nkeep_ful_backups = 3\n", "retention.keep_ful_backups"},
		{"keep zero", minimal + "\n[retention]\nkeep_full_backups = 0\n", "retention.keep_full_backups"},
		{"seed url", strings.Replace(minimal, `addr = "127.0.0.1:9000"`, `url = "http://localhost:8123"`, 1), "clickhouse.url"},
		{"bad duration", minimal + "\n[schedule]\nincremental_every = \"often\"\n", "schedule.incremental_every"},
		{"no bucket", strings.Replace(minimal, `bucket = "backups"`, ``, 1), "s3.bucket"},
		{"bad database", strings.Replace(minimal, `"shop"`, `"x; DROP TABLE y"`, 1), "clickhouse.database"},
		{"unknown provider key", minimal + slack + "channel = \"#a\"\n", "notifications.providers[0].channel"},
		{"bad provider type", minimal + "\n[[notifications.providers]]\ntype = \"pager\"\n", "notifications.providers[0].type"},
		{"wrong type", minimal + "\n[retention]\nkeep_full_backups = \"many\"\n", "keep_full_backups"},
		{"unknown section", minimal + "\n[backups]\nx = 1\n", "backups.x"},
		{"deployment with a control character", strings.Replace(minimal, `secret_key =`, "deployment = \"prod\\u0007\"\nsecret_key =", 1), "s3.deployment"},
		{"tables of a database not backed up", minimal + "\n[tables.other]\nexclude_tables = [\"logs\"]\n", "tables.other"},
		{"include and exclude tables", minimal + "\n[tables.shop]\ninclude_tables = [\"a\"]\nexclude_tables = [\"b\"]\n", "tables.shop"},
		{"unknown key of a table set", minimal + "\n[tables.shop]\nonly = [\"a\"]\n", "tables.shop.only"},
		{"bad storage class", minimal + "\n[backup]\ns3_storage_class = \"cheap please\"\n", "backup.s3_storage_class"},
		{"allow-list without the sidecar's user", minimal + "\n[sidecar]\nallow_users = [\"alice\"]\n", "sidecar.allow_users"},
		{"a database listed twice", strings.Replace(minimal, `database = "shop"`, `databases = ["shop", "crm", "shop"]`, 1),
			`clickhouse.databases[2]: "shop" is listed already, as clickhouse.databases[0]`},
		{"a control database the query log would quote", strings.Replace(minimal, `addr = "127.0.0.1:9000"`, `addr = "127.0.0.1:9000"`+"\ncontrol_database = \"click-vault\"", 1), "clickhouse.control_database"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Load(writeConfig(t, c.body), false, noEnv)
			if err == nil || !strings.Contains(err.Error(), c.key) {
				t.Fatalf("want an error naming %s, got %v", c.key, err)
			}
		})
	}
	_, err := Load(writeConfig(t, minimal), false, func() []string { return []string{"CLICKVAULT_S3_BUKET=x"} })
	if err == nil || !strings.Contains(err.Error(), "CLICKVAULT_S3_BUKET") {
		t.Fatalf("unknown env key: got %v", err)
	}
}

// TestSecretsNeverPrint: secrets redact themselves in every way a value can
// reach a log line or JSON, and a bad URL is refused without repeating it.
func TestSecretsNeverPrint(t *testing.T) {
	body := minimal + "\n[[notifications.providers]]\ntype = \"slack\"\nwebhook_url = \"https://hooks.slack.com/services/T0/B0/slack-token-789\"\n" +
		"[[notifications.providers]]\ntype = \"webhook\"\nurl = \"https://mon.example/api\"\nheaders = { Authorization = \"Bearer header-token-000\" }\n"
	cfg, err := Load(writeConfig(t, body), false, noEnv)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	logger := slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	logger.Debug("config", "config", cfg, "password", cfg.ClickHouse.Password)
	js, _ := json.Marshal(cfg)
	text := buf.String() + string(js) + fmt.Sprintf("%v %+v %#v %s", cfg, cfg, cfg, cfg.S3.SecretKey)
	for _, secret := range []string{"ch-pass-123", "s3-secret-456", "slack-token-789", "header-token-000"} {
		if strings.Contains(text, secret) {
			t.Errorf("secret %q printed", secret)
		}
	}
	bad := minimal + "\n[[notifications.providers]]\ntype = \"slack\"\nwebhook_url = \"ftp://leak-me-999\"\n"
	_, err = Load(writeConfig(t, bad), false, noEnv)
	if err == nil || strings.Contains(err.Error(), "leak-me-999") {
		t.Fatalf("bad webhook url: want an error without the url, got %v", err)
	}
}

func TestClickHouseS3Endpoint(t *testing.T) {
	cases := []struct{ endpoint, forClickHouse, region, want string }{
		{"http://minio:9000", "", "us-east-1", "http://minio:9000"},
		{"http://localhost:9100", "http://minio:9000", "us-east-1", "http://minio:9000"},
		{"", "", "eu-central-1", "https://s3.eu-central-1.amazonaws.com"},
	}
	for _, c := range cases {
		cfg := Config{S3: S3{S3Place: S3Place{Endpoint: c.endpoint, ClickHouseEndpoint: c.forClickHouse, Region: c.region}}}
		if got := cfg.ClickHouseS3Endpoint(); got != c.want {
			t.Errorf("%+v: got %s, want %s", c, got, c.want)
		}
	}
}
