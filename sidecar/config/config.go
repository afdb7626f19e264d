// Package config loads ClickVault's TOML configuration with koanf: defaults,
// then the file, then CLICKVAULT_<SECTION>_<KEY> environment variables.
// Unknown keys and invalid values are refused, naming the key.
package config

import (
	"encoding/json"
	"log/slog"
	"time"
)

// Secret is a string that never prints: logs, JSON and %v show [REDACTED].
type Secret string

const redacted = "[REDACTED]"

func (s Secret) String() string {
	if s == "" {
		return ""
	}
	return redacted
}

// LogValue keeps slog from printing the secret.
func (s Secret) LogValue() slog.Value { return slog.StringValue(s.String()) }

// MarshalJSON keeps encoders from printing the secret.
func (s Secret) MarshalJSON() ([]byte, error) { return json.Marshal(s.String()) }

// GoString keeps %#v from printing the secret.
func (s Secret) GoString() string { return `"` + s.String() + `"` }

// Reveal returns the secret, for the one place that must send it.
func (s Secret) Reveal() string { return string(s) }

// Config is the whole configuration.
type Config struct {
	ClickHouse    ClickHouse    `koanf:"clickhouse"`
	S3            S3            `koanf:"s3"`
	Schedule      Schedule      `koanf:"schedule"`
	Retention     Retention     `koanf:"retention"`
	Notifications Notifications `koanf:"notifications"`
	Sidecar       Sidecar       `koanf:"sidecar"`
	Backup        Backup        `koanf:"backup"`
	Cluster       Cluster       `koanf:"cluster"` // cluster.go
	// Copy are the [[copy]] targets every completed backup is copied to
	// (copy.go).
	Copy []CopyTarget `koanf:"copy"`
	// Tables are per-database table sets, [tables.<database>] in the file
	// (not settable from the environment).
	Tables map[string]TableSet `koanf:"tables"`
	// RPO overrides schedule.rpo per database, [rpo] in the file.
	RPO map[string]string `koanf:"rpo"`
}

// TableSet is a database's include_tables or exclude_tables.
type TableSet struct {
	IncludeTables []string `koanf:"include_tables"`
	ExcludeTables []string `koanf:"exclude_tables"`
}

// Backup holds ClickHouse's backup settings that matter for big tables and
// for cost; each is passed to every BACKUP ClickVault sends.
type Backup struct {
	S3StorageClass     string `koanf:"s3_storage_class"`     // "" = the bucket's default (STANDARD)
	MaxBackupBandwidth uint64 `koanf:"max_backup_bandwidth"` // bytes per second, 0 = unlimited
	AllowS3NativeCopy  bool   `koanf:"allow_s3_native_copy"`
	DeduplicateFiles   bool   `koanf:"deduplicate_files"`
	// FullWhenIncrementalExceeds starts a new chain after an incremental
	// that stored more than this fraction of its chain's full (0 = never).
	FullWhenIncrementalExceeds float64 `koanf:"full_when_incremental_exceeds"`
	// ParallelDatabases is how many BACKUPs of different databases run in
	// ClickHouse at once: `clickvault backup` of several databases, and the
	// backups `serve` runs (within sidecar.workers). Each database still
	// has its own lease.
	ParallelDatabases int `koanf:"parallel_databases"`
}

type ClickHouse struct {
	Addr            string   `koanf:"addr"`
	URL             string   `koanf:"url"` // the seed's HTTP URL: refused with a hint
	User            string   `koanf:"user"`
	Password        Secret   `koanf:"password"`
	Database        string   `koanf:"database"`
	Databases       []string `koanf:"databases"`
	ControlDatabase string   `koanf:"control_database"`
	Secure          bool     `koanf:"secure"`
}

type S3 struct {
	// squash: mapstructure reads the place's keys at [s3]'s level;
	// flatten: the defaults' provider (fatih/structs) writes them there.
	S3Place    `koanf:",squash,flatten"`
	Deployment string `koanf:"deployment"`
}

// S3Place is where a bucket is and how to reach it: the keys [s3] and
// each [[copy]] target share, and mean the same in both.
type S3Place struct {
	Endpoint           string `koanf:"endpoint"`
	ClickHouseEndpoint string `koanf:"clickhouse_endpoint"`
	Bucket             string `koanf:"bucket"`
	Prefix             string `koanf:"prefix"`
	Region             string `koanf:"region"`
	AccessKey          Secret `koanf:"access_key"`
	SecretKey          Secret `koanf:"secret_key"`
	NamedCollection    string `koanf:"named_collection"`
}

type Schedule struct {
	FullBackupIntervalDays int    `koanf:"full_backup_interval_days"`
	FullEvery              string `koanf:"full_every"`
	IncrementalEvery       string `koanf:"incremental_every"`
	CheckEvery             string `koanf:"check_every"`
	RPO                    string `koanf:"rpo"`
}

type Retention struct {
	KeepFullBackups int    `koanf:"keep_full_backups"`
	KeepDays        int    `koanf:"keep_days"`
	KeepDaily       int    `koanf:"keep_daily"`
	KeepWeekly      int    `koanf:"keep_weekly"`
	KeepMonthly     int    `koanf:"keep_monthly"`
	KeepYearly      int    `koanf:"keep_yearly"`
	MinAge          string `koanf:"min_age"`
}

// MinAgeDuration is retention.min_age as a duration (0 when unset).
func (r Retention) MinAgeDuration() time.Duration {
	d, _ := time.ParseDuration(r.MinAge)
	return d
}

type Notifications struct {
	OnSuccess bool       `koanf:"on_success"`
	OnFailure bool       `koanf:"on_failure"`
	Providers []Provider `koanf:"providers"`
}

// Provider is one notification target.
type Provider struct {
	Type       string            `koanf:"type"` // slack or webhook
	WebhookURL Secret            `koanf:"webhook_url"`
	URL        Secret            `koanf:"url"`
	Method     string            `koanf:"method"`
	Headers    map[string]Secret `koanf:"headers"`
}

type Sidecar struct {
	Listen       string   `koanf:"listen"`
	PollInterval string   `koanf:"poll_interval"`
	AuthTokens   []Secret `koanf:"auth_tokens"`
	ReadTokens   []Secret `koanf:"read_tokens"`
	AllowUsers   []string `koanf:"allow_users"`
	// ConfirmWait is how long a request whose INSERT system.query_log does
	// not show waits before it is rejected.
	ConfirmWait string `koanf:"confirm_wait"`
	// Workers is how many requests run at once (a cancel takes no slot).
	Workers int `koanf:"workers"`
	// RequestRetentionDays is how long rows of requests and request_log are
	// kept (their tables' TTL); no read of them looks further back.
	RequestRetentionDays int `koanf:"request_retention_days"`
}

// DefaultParallelDatabases is backup.parallel_databases when the
// configuration does not say: measured on the test bed with 100 small
// databases (docs/benchmarks.md, "100 databases"); ClickHouse's own
// backup pools (backup_threads, 16 by default) are well above it.
const DefaultParallelDatabases = 4

// MaxParallelDatabases bounds backup.parallel_databases: four times
// ClickHouse's default backup_threads, past which more BACKUPs only queue
// in ClickHouse while their databases' leases are held.
const MaxParallelDatabases = 64

// Default is the configuration before the file and environment.
func Default() Config {
	return Config{
		ClickHouse: ClickHouse{Addr: "127.0.0.1:9000", User: "default", ControlDatabase: "clickvault"},
		S3:         S3{S3Place: S3Place{Region: "us-east-1", Prefix: "clickhouse"}},
		Schedule:   Schedule{FullBackupIntervalDays: 7, IncrementalEvery: "4h", CheckEvery: "24h"},
		Retention:  Retention{KeepFullBackups: 4},
		Notifications: Notifications{
			OnSuccess: true, OnFailure: true,
		},
		Sidecar: Sidecar{Listen: "127.0.0.1:7480", PollInterval: "1s", ConfirmWait: "30s", Workers: 4, RequestRetentionDays: 90},
		Backup:  Backup{AllowS3NativeCopy: true, DeduplicateFiles: true, ParallelDatabases: DefaultParallelDatabases},
		Cluster: Cluster{ShardTimeout: "6h", SyncTimeout: "5m"},
	}
}

// DatabaseList is every database to back up: databases, or database.
func (c Config) DatabaseList() []string {
	if len(c.ClickHouse.Databases) > 0 {
		return c.ClickHouse.Databases
	}
	if c.ClickHouse.Database != "" {
		return []string{c.ClickHouse.Database}
	}
	return nil
}

// FullInterval is how old the newest full may get before a new chain.
func (c Config) FullInterval() time.Duration {
	if d, err := time.ParseDuration(c.Schedule.FullEvery); err == nil && c.Schedule.FullEvery != "" {
		return d
	}
	return time.Duration(c.Schedule.FullBackupIntervalDays) * 24 * time.Hour
}

// IncrementalInterval is how often serve takes a backup (0 = never).
func (c Config) IncrementalInterval() time.Duration {
	d, _ := time.ParseDuration(c.Schedule.IncrementalEvery)
	return d
}

// CheckInterval is how often serve checks each database (0 = never).
func (c Config) CheckInterval() time.Duration {
	d, _ := time.ParseDuration(c.Schedule.CheckEvery)
	return d
}

// RPOs are each database's recovery point objective: [rpo] for the
// database, else schedule.rpo, else twice incremental_every (none when
// serve takes no backups on its own).
func (c Config) RPOs() map[string]time.Duration {
	out := map[string]time.Duration{}
	def, _ := time.ParseDuration(c.Schedule.RPO)
	if def == 0 {
		def = 2 * c.IncrementalInterval()
	}
	for _, db := range c.DatabaseList() {
		d := def
		if v, ok := c.RPO[db]; ok {
			d, _ = time.ParseDuration(v)
		}
		if d > 0 {
			out[db] = d
		}
	}
	return out
}

// Poll is how often the sidecar reads the control table.
// RequestRetention is sidecar.request_retention_days as a duration.
func (c Config) RequestRetention() time.Duration {
	return time.Duration(c.Sidecar.RequestRetentionDays) * 24 * time.Hour
}

// ConfirmWait is sidecar.confirm_wait as a duration.
func (c Config) ConfirmWait() time.Duration {
	d, _ := time.ParseDuration(c.Sidecar.ConfirmWait)
	return d
}

func (c Config) Poll() time.Duration {
	d, _ := time.ParseDuration(c.Sidecar.PollInterval)
	return d
}

// ClickHouseS3Endpoint is the endpoint as ClickHouse reaches it. With no
// endpoint at all (AWS), it is the region's S3 endpoint: ClickHouse's S3()
// needs a full URL, unlike the SDK, which finds AWS by itself.
func (c Config) ClickHouseS3Endpoint() string { return c.S3.ClickHouseS3Endpoint() }

// ClickHouseS3Endpoint is the place's endpoint as ClickHouse reaches it
// (Config.ClickHouseS3Endpoint).
func (p S3Place) ClickHouseS3Endpoint() string {
	switch {
	case p.ClickHouseEndpoint != "":
		return p.ClickHouseEndpoint
	case p.Endpoint != "":
		return p.Endpoint
	}
	return "https://s3." + p.Region + ".amazonaws.com"
}

// Secrets lists every secret value, for redacting text from elsewhere.
func (c Config) Secrets() []string {
	out := []string{c.ClickHouse.Password.Reveal(), c.S3.AccessKey.Reveal(), c.S3.SecretKey.Reveal()}
	for _, p := range c.Notifications.Providers {
		out = append(out, p.WebhookURL.Reveal(), p.URL.Reveal())
		for _, h := range p.Headers {
			out = append(out, h.Reveal())
		}
	}
	for _, t := range c.Copy {
		out = append(out, t.AccessKey.Reveal(), t.SecretKey.Reveal())
	}
	for _, t := range append(append([]Secret(nil), c.Sidecar.AuthTokens...), c.Sidecar.ReadTokens...) {
		out = append(out, t.Reveal())
	}
	return out
}
