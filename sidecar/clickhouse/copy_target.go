package clickhouse

import "fmt"

// BaseRef is how ClickHouse names a folder of the target as an
// incremental's base in a .backup manifest: S3('url'), without
// credentials (ClickHouse marks the base to be read with the RESTORE's
// credentials, base_backup_copy_s3_credentials_from_backup). A copied
// incremental's manifest gets its copy's base in this form.
func (t S3Target) BaseRef(folder string) string {
	return fmt.Sprintf("S3(%s)", QuoteString(t.URL(folder)))
}

// ForTarget is this Database reading and writing backups at another S3
// target (a copy's, for a restore from it): the same connections and
// settings, another place, and errors redacted of that target's secrets
// too. Closing either closes both.
func (d *Database) ForTarget(t S3Target) *Database {
	c := *d.conn
	c.redact = newRedactor(append(append([]string(nil), d.redact.secrets...), t.AccessKey, t.SecretKey)...)
	return &Database{conn: &c, target: t, backup: d.backup, restore: &RestoreOps{&c}, rights: &Rights{&c}, reads: d.reads}
}
