package clickhouse

import (
	"fmt"
	"net/url"
	"strings"

	"github.com/clickvault/clickvault/sidecar"
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

// BuildBackupSQL renders BACKUP … ASYNC with the operation id, on a base
// for an incremental.
func BuildBackupSQL(cmd sidecar.BackupCommand, t S3Target) (string, error) {
	if err := sidecar.ValidateIdentifier("database", cmd.Database); err != nil {
		return "", err
	}
	settings := "id = " + QuoteString(cmd.ID)
	if cmd.BaseFolder != "" {
		settings += ", base_backup = " + t.s3Func(cmd.BaseFolder)
	}
	return fmt.Sprintf("BACKUP DATABASE %s TO %s SETTINGS %s ASYNC",
		QuoteIdent(cmd.Database), t.s3Func(cmd.Folder), settings), nil
}

// BuildRestoreSQL renders RESTORE DATABASE … AS target … ASYNC.
func BuildRestoreSQL(cmd sidecar.RestoreCommand, t S3Target) (string, error) {
	for what, name := range map[string]string{"database": cmd.Database, "restore target": cmd.Target} {
		if err := sidecar.ValidateIdentifier(what, name); err != nil {
			return "", err
		}
	}
	return fmt.Sprintf("RESTORE DATABASE %s AS %s FROM %s SETTINGS id = %s ASYNC",
		QuoteIdent(cmd.Database), QuoteIdent(cmd.Target), t.s3Func(cmd.Folder), QuoteString(cmd.ID)), nil
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
