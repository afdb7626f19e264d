package clickhouse

import (
	"fmt"
	"net/url"
	"slices"
	"strings"

	"github.com/clickvault/clickvault/sidecar"
	"github.com/clickvault/clickvault/sidecar/model"
)

// S3Target is how ClickHouse reaches the bucket. With NamedCollection set,
// credentials stay in ClickHouse and no secret appears in SQL.
type S3Target struct {
	Endpoint        string // as ClickHouse reaches it: http://minio:9000
	Bucket          string
	AccessKey       string
	SecretKey       string
	NamedCollection string
}

// URL is the address of a folder of the bucket.
func (t S3Target) URL(folder string) string {
	return strings.TrimRight(t.Endpoint, "/") + "/" + t.Bucket + "/" + escapePath(strings.TrimLeft(folder, "/"))
}

// escapePath percent-encodes each segment of a key for a URL: ClickHouse
// refuses a URL with letters beyond ASCII (a database named données) and
// decodes the escapes back into the key. Letters, digits, - and _ stay as
// they are.
func escapePath(key string) string {
	segments := strings.Split(key, "/")
	for i, s := range segments {
		segments[i] = url.PathEscape(s)
	}
	return strings.Join(segments, "/")
}

// s3Func renders S3(…) for a folder of the bucket.
func (t S3Target) s3Func(folder string) string {
	if t.NamedCollection != "" {
		return fmt.Sprintf("S3(%s, url = %s)", QuoteIdent(t.NamedCollection), QuoteString(t.URL(folder)))
	}
	if t.AccessKey == "" && t.SecretKey == "" {
		return fmt.Sprintf("S3(%s)", QuoteString(t.URL(folder)))
	}
	return fmt.Sprintf("S3(%s, %s, %s)", QuoteString(t.URL(folder)), QuoteString(t.AccessKey), QuoteString(t.SecretKey))
}

// BackupSettings are ClickHouse's backup settings sent with every BACKUP
// (configuration section [backup]).
type BackupSettings struct {
	S3StorageClass     string // "" = the bucket's default
	MaxBackupBandwidth uint64 // bytes per second, 0 = no limit
	AllowS3NativeCopy  bool
	DeduplicateFiles   bool
}

// clause renders the settings for a BACKUP's SETTINGS, after the id.
func (b BackupSettings) clause() string {
	out := fmt.Sprintf(", allow_s3_native_copy = %d, deduplicate_files = %d", boolInt(b.AllowS3NativeCopy), boolInt(b.DeduplicateFiles))
	if b.S3StorageClass != "" {
		out += ", s3_storage_class = " + QuoteString(b.S3StorageClass)
	}
	if b.MaxBackupBandwidth > 0 {
		out += fmt.Sprintf(", max_backup_bandwidth = %d", b.MaxBackupBandwidth)
	}
	return out
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// BuildBackupSQL renders BACKUP … ASYNC with the operation id, on a base
// for an incremental.
func BuildBackupSQL(cmd sidecar.BackupCommand, t S3Target, opts BackupSettings) (string, error) {
	if err := model.ValidateIdentifier("database", cmd.Database); err != nil {
		return "", err
	}
	settings := "id = " + QuoteString(cmd.ID) + opts.clause()
	if cmd.BaseFolder != "" {
		settings += ", base_backup = " + t.s3Func(cmd.BaseFolder)
	}
	what, err := backupTarget(cmd.Database, cmd.Tables)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("BACKUP %s TO %s SETTINGS %s ASYNC", what, t.s3Func(cmd.Folder), settings), nil
}

// backupTarget is what a BACKUP names: the database, the database except
// some tables, or some of its tables.
func backupTarget(database string, set model.TableSet) (string, error) {
	db := QuoteIdent(database)
	for _, table := range append(append([]string(nil), set.Include...), set.Exclude...) {
		if err := model.ValidateIdentifier("table", table); err != nil {
			return "", err
		}
	}
	switch {
	case len(set.Include) > 0:
		parts := make([]string, len(set.Include))
		for i, table := range set.Include {
			parts[i] = "TABLE " + db + "." + QuoteIdent(table)
		}
		return strings.Join(parts, ", "), nil
	case len(set.Exclude) > 0:
		parts := make([]string, len(set.Exclude))
		for i, table := range set.Exclude {
			parts[i] = db + "." + QuoteIdent(table)
		}
		return "DATABASE " + db + " EXCEPT TABLES " + strings.Join(parts, ", "), nil
	}
	return "DATABASE " + db, nil
}

// BuildRestoreSQL renders RESTORE DATABASE … AS target … ASYNC, or RESTORE
// TABLE … AS target.… [PARTITIONS …] for some tables. Of opts it takes
// allow_s3_native_copy: a restore onto an S3 disk copies server-side as a
// backup from one does, with the same rights, so one key rules both.
func BuildRestoreSQL(cmd sidecar.RestoreCommand, t S3Target, opts BackupSettings) (string, error) {
	for what, name := range map[string]string{"database": cmd.Database, "restore target": cmd.Target} {
		if err := model.ValidateIdentifier(what, name); err != nil {
			return "", err
		}
	}
	what, err := restoreTarget(cmd)
	if err != nil {
		return "", err
	}
	// create_table = 'create': a table that exists under a name restored
	// (someone else's, created since the restore looked) fails the
	// RESTORE instead of being written into; likewise the database. Only
	// a later step of a set's restore asks for 'if not exists'.
	createTable := sidecar.CreateTableNew
	switch cmd.CreateTable {
	case "", sidecar.CreateTableNew:
	case sidecar.CreateTableIfNotExists:
		createTable = cmd.CreateTable
	default:
		return "", fmt.Errorf("build a restore: create_table %q is not one this sidecar sends", cmd.CreateTable)
	}
	settings := "id = " + QuoteString(cmd.ID) + ", create_table = " + QuoteString(createTable) +
		fmt.Sprintf(", allow_s3_native_copy = %d", boolInt(opts.AllowS3NativeCopy))
	if cmd.NewDatabase {
		settings += ", create_database = 'create'"
	}
	if cmd.StructureOnly {
		settings += ", structure_only = 1"
	}
	if cmd.AllowNonEmptyTables {
		settings += ", allow_non_empty_tables = 1"
	}
	return fmt.Sprintf("RESTORE %s FROM %s SETTINGS %s ASYNC", what, t.s3Func(cmd.Folder), settings), nil
}

// restoreTarget is what a RESTORE names: the database as the target, or
// each table of the backup as a table of the target, with its partitions.
func restoreTarget(cmd sidecar.RestoreCommand) (string, error) {
	if len(cmd.Tables) == 0 {
		return restoreDatabase(cmd)
	}
	if err := model.ValidatePartitions(slices.Concat(cmd.Partitions, cmd.PartitionIDs)); err != nil {
		return "", err
	}
	parts := make([]string, len(cmd.Tables))
	for i, r := range cmd.Tables {
		for what, name := range map[string]string{"table": r.Source, "target table": r.Target} {
			if err := model.ValidateIdentifier(what, name); err != nil {
				return "", err
			}
		}
		parts[i] = fmt.Sprintf("TABLE %s.%s AS %s.%s", QuoteIdent(cmd.Database), QuoteIdent(r.Source),
			QuoteIdent(cmd.Target), QuoteIdent(r.Target))
	}
	if len(cmd.Partitions)+len(cmd.PartitionIDs) > 0 {
		var quoted []string
		for _, p := range cmd.Partitions {
			quoted = append(quoted, QuoteString(p))
		}
		for _, id := range cmd.PartitionIDs { // ID 'x': any key's type, a tuple's too
			quoted = append(quoted, "ID "+QuoteString(id))
		}
		parts[0] += " PARTITIONS " + strings.Join(quoted, ", ")
	}
	return strings.Join(parts, ", "), nil
}

// restoreDatabase is DATABASE db AS target [EXCEPT TABLES db.t, …]: the
// tables the restore plan leaves out are named as the backup has them.
func restoreDatabase(cmd sidecar.RestoreCommand) (string, error) {
	db := QuoteIdent(cmd.Database)
	what := "DATABASE " + db + " AS " + QuoteIdent(cmd.Target)
	if len(cmd.Except) == 0 {
		return what, nil
	}
	parts := make([]string, len(cmd.Except))
	for i, table := range cmd.Except {
		if err := model.ValidateIdentifier("table left out", table); err != nil {
			return "", err
		}
		parts[i] = db + "." + QuoteIdent(table)
	}
	return what + " EXCEPT TABLES " + strings.Join(parts, ", "), nil
}

// Escapers are built once: a Replacer is costly to build and is safe for
// concurrent use, and the poll loop quotes names many times a second.
var (
	identEscaper  = strings.NewReplacer("\\", "\\\\", "`", "\\`")
	stringEscaper = strings.NewReplacer("\\", "\\\\", "'", "\\'", "\n", "\\n", "\r", "\\r", "\t", "\\t", "\x00", "\\0")
	paramEscaper  = strings.NewReplacer("\\", "\\\\", "\t", "\\t", "\n", "\\n")
)

// QuoteIdent back-quotes an identifier.
func QuoteIdent(name string) string {
	return "`" + identEscaper.Replace(name) + "`"
}

// QuoteString makes a single-quoted string literal.
func QuoteString(s string) string {
	return "'" + stringEscaper.Replace(s) + "'"
}
