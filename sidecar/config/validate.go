package config

import (
	"errors"
	"fmt"
	"math"
	"net"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/clickvault/clickvault/sidecar/model"
)

// Validate checks every value and returns one error per bad key.
func (c Config) Validate() error {
	var errs []error
	add := func(key, format string, args ...any) {
		errs = append(errs, &Error{Key: key, Msg: fmt.Sprintf(format, args...)})
	}
	for _, r := range required {
		if r.unset(c) {
			errs = append(errs, &Error{Key: r.key, Missing: true})
		}
	}
	c.validateClickHouse(add)
	c.validateS3(add)
	c.validateSchedule(add)
	validateRetention(add, "retention", c.Retention)
	c.validateProviders(add)
	c.validateSidecar(add)
	c.validateTables(add)
	c.validateBackup(add)
	c.validateCluster(add)
	c.validateCopies(add)
	return errors.Join(errs...)
}

type addFunc func(key, format string, args ...any)

// required are the keys every command needs that no default can fill.
var required = []struct {
	key   string
	unset func(Config) bool
}{
	{"s3.bucket", func(c Config) bool { return c.S3.Bucket == "" }},
	{"s3.region", func(c Config) bool { return c.S3.Region == "" }}, // defaults to us-east-1: only an explicit "" is missing
}

func (c Config) validateClickHouse(add addFunc) {
	ch := c.ClickHouse
	if ch.URL != "" {
		add("clickhouse.url", "ClickVault speaks ClickHouse's native protocol: replace url = %q with addr = \"HOST:9000\"", ch.URL)
	}
	if err := validateHostPort(ch.Addr); err != nil {
		add("clickhouse.addr", "%v", err)
	}
	if ch.Database != "" {
		if err := model.ValidateIdentifier("database", ch.Database); err != nil {
			add("clickhouse.database", "%v", err)
		}
	}
	first := make(map[string]int, len(ch.Databases))
	for i, db := range ch.Databases {
		if err := model.ValidateIdentifier("database", db); err != nil {
			add(fmt.Sprintf("clickhouse.databases[%d]", i), "%v", err)
		}
		// Listed twice, a round backed it up twice at once: the second
		// failed on the first's lease, and the run named it failed.
		if j, seen := first[db]; seen {
			add(fmt.Sprintf("clickhouse.databases[%d]", i), "%q is listed already, as clickhouse.databases[%d]", db, j)
		} else {
			first[db] = i
		}
	}
	if err := model.ValidateIdentifier("control database", ch.ControlDatabase); err != nil {
		add("clickhouse.control_database", "%v", err)
	} else if !plainName.MatchString(ch.ControlDatabase) {
		add("clickhouse.control_database", "%q is not a plain name (ASCII letters, digits and _, not starting with a digit): "+
			"ClickHouse's query log back-quotes other names, and no request in it could be confirmed", ch.ControlDatabase)
	}
}

// plainName is a name ClickHouse writes without back-quotes in its logs
// (backQuoteIfNeed): the control database's tables are looked up there by
// name.
var plainName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

func (c Config) validateS3(add addFunc) {
	s := c.S3
	if s.Endpoint != "" {
		if err := validateURL(s.Endpoint); err != nil {
			add("s3.endpoint", "%v", err)
		}
	}
	if s.ClickHouseEndpoint != "" {
		if err := validateURL(s.ClickHouseEndpoint); err != nil {
			add("s3.clickhouse_endpoint", "%v", err)
		}
	}
	if strings.Contains(s.Prefix, "//") {
		add("s3.prefix", "must not contain an empty path element: %q", s.Prefix)
	}
	if s.NamedCollection != "" {
		if err := model.ValidateIdentifier("named collection", s.NamedCollection); err != nil {
			add("s3.named_collection", "%v", err)
		}
	}
	if !printableName(s.Deployment, 128) {
		add("s3.deployment", "must be at most 128 printable characters, got %q", s.Deployment)
	}
}

// printableName reports whether s is at most max runes with no control
// character: it is shown in errors and logs as it is.
func printableName(s string, max int) bool {
	if utf8.RuneCountInString(s) > max || !utf8.ValidString(s) {
		return false
	}
	return !strings.ContainsFunc(s, unicode.IsControl)
}

func (c Config) validateSchedule(add addFunc) {
	s := c.Schedule
	if s.FullEvery != "" {
		if d, err := time.ParseDuration(s.FullEvery); err != nil || d <= 0 {
			add("schedule.full_every", "must be a positive duration such as \"168h\", got %q", s.FullEvery)
		}
	} else if s.FullBackupIntervalDays < 1 {
		add("schedule.full_backup_interval_days", "must be at least 1, got %d", s.FullBackupIntervalDays)
	}
	for key, v := range map[string]string{"schedule.check_every": s.CheckEvery, "schedule.rpo": s.RPO} {
		if v == "" {
			continue
		}
		if d, err := time.ParseDuration(v); err != nil || d <= 0 {
			add(key, "must be a positive duration such as \"24h\" or \"\" for the default, got %q", v)
		}
	}
	if s.IncrementalEvery != "" {
		if d, err := time.ParseDuration(s.IncrementalEvery); err != nil || d <= 0 {
			add("schedule.incremental_every", "must be a positive duration such as \"4h\" or \"\" for never, got %q", s.IncrementalEvery)
		}
	}
}

func (c Config) validateProviders(add addFunc) {
	for i, p := range c.Notifications.Providers {
		key := fmt.Sprintf("notifications.providers[%d]", i)
		switch p.Type {
		case "slack":
			if err := validateURL(p.WebhookURL.Reveal()); err != nil {
				add(key+".webhook_url", "%v", err)
			}
		case "webhook":
			if err := validateURL(p.URL.Reveal()); err != nil {
				add(key+".url", "%v", err)
			}
			switch strings.ToUpper(p.Method) {
			case "", "POST", "PUT", "PATCH":
			default:
				add(key+".method", "must be POST, PUT or PATCH, got %q", p.Method)
			}
		default:
			add(key+".type", "must be slack or webhook, got %q", p.Type)
		}
	}
}

func (c Config) validateSidecar(add addFunc) {
	if err := validateHostPort(c.Sidecar.Listen); err != nil {
		add("sidecar.listen", "%v", err)
	}
	if c.Sidecar.Workers < 1 || c.Sidecar.Workers > 64 {
		add("sidecar.workers", "must be 1 to 64 requests run at once, got %d", c.Sidecar.Workers)
	}
	if c.Sidecar.RequestRetentionDays < 1 || c.Sidecar.RequestRetentionDays > 3650 {
		add("sidecar.request_retention_days", "must be 1 to 3650 days of requests kept, got %d", c.Sidecar.RequestRetentionDays)
	}
	if d, err := time.ParseDuration(c.Sidecar.ConfirmWait); err != nil || d <= 0 {
		add("sidecar.confirm_wait", "must be a positive duration such as \"30s\", got %q", c.Sidecar.ConfirmWait)
	}
	if d, err := time.ParseDuration(c.Sidecar.PollInterval); err != nil || d <= 0 {
		add("sidecar.poll_interval", "must be a positive duration such as \"1s\", got %q", c.Sidecar.PollInterval)
	}
	if len(c.Sidecar.AllowUsers) > 0 && !slices.Contains(c.Sidecar.AllowUsers, c.ClickHouse.User) {
		add("sidecar.allow_users", "must include clickhouse.user (%q): the sidecar makes its scheduled backups and HTTP requests as that user", c.ClickHouse.User)
	}
	for key, tokens := range map[string][]Secret{"auth_tokens": c.Sidecar.AuthTokens, "read_tokens": c.Sidecar.ReadTokens} {
		for i, t := range tokens {
			if len(t.Reveal()) < 16 {
				add(fmt.Sprintf("sidecar.%s[%d]", key, i), "must be at least 16 characters long")
			}
		}
	}
}

func validateHostPort(addr string) error {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("want HOST:PORT, got %q", addr)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		return fmt.Errorf("bad port in %q", addr)
	}
	return nil
}

// validateURL accepts an http(s) URL; its text is not repeated, as it may
// hold a credential (a Slack webhook URL does).
func validateURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return errors.New("must be an http:// or https:// URL")
	}
	return nil
}

func (c Config) validateTables(add addFunc) {
	dbs := c.DatabaseList()
	for db, v := range c.RPO {
		if !slices.Contains(dbs, db) {
			add("rpo."+db, "names a database that is not backed up (clickhouse.database or clickhouse.databases)")
		} else if d, err := time.ParseDuration(v); err != nil || d <= 0 {
			add("rpo."+db, "must be a positive duration such as \"8h\", got %q", v)
		}
	}
	for db, set := range c.Tables {
		key := "tables." + db
		if !slices.Contains(dbs, db) {
			add(key, "names a database that is not backed up (clickhouse.database or clickhouse.databases)")
			continue
		}
		if _, err := model.NewTableSet(set.IncludeTables, set.ExcludeTables); err != nil {
			add(key, "%v", err)
		}
	}
}

// storageClasses are S3's; a store that knows others takes them through
// the same header, so only the form is checked.
var storageClass = regexp.MustCompile(`^[A-Z][A-Z_]{0,63}$`)

func (c Config) validateBackup(add addFunc) {
	if sc := c.Backup.S3StorageClass; sc != "" && !storageClass.MatchString(sc) {
		add("backup.s3_storage_class", "must be an S3 storage class such as STANDARD_IA or GLACIER_IR, got %q", sc)
	}
	if n := c.Backup.ParallelDatabases; n < 1 || n > MaxParallelDatabases {
		add("backup.parallel_databases", "must be 1 to %d databases backed up at once, got %d", MaxParallelDatabases, n)
	}
	if f := c.Backup.FullWhenIncrementalExceeds; f < 0 || math.IsNaN(f) || math.IsInf(f, 0) {
		add("backup.full_when_incremental_exceeds", "must be a fraction of the chain's full such as 0.5 (0 = off), got %v", f)
	}
}

// TableSets are the configured table sets, parsed, by database.
func (c Config) TableSets() map[string]model.TableSet {
	out := map[string]model.TableSet{}
	for db, set := range c.Tables {
		if parsed, err := model.NewTableSet(set.IncludeTables, set.ExcludeTables); err == nil && !parsed.All() {
			out[db] = parsed
		}
	}
	return out
}

// validateRetention checks the rules of [retention] (key "retention") or
// of a copy target's.
func validateRetention(add addFunc, key string, r Retention) {
	if r.KeepFullBackups < 1 {
		add(key+".keep_full_backups", "must be at least 1, got %d", r.KeepFullBackups)
	}
	for k, n := range map[string]int{"keep_days": r.KeepDays, "keep_daily": r.KeepDaily,
		"keep_weekly": r.KeepWeekly, "keep_monthly": r.KeepMonthly, "keep_yearly": r.KeepYearly} {
		if n < 0 {
			add(key+"."+k, "must not be negative, got %d", n)
		}
	}
	if m := r.MinAge; m != "" {
		if d, err := time.ParseDuration(m); err != nil || d < 0 {
			add(key+".min_age", "must be a duration such as \"72h\", got %q", m)
		}
	}
}
