// Package sql holds the control plane's DDL as .sql files, embedded so the
// binary carries them. Only sidecar/clickhouse reads them; `clickvault init`
// prints them.
package sql

import "embed"

// Files are the DDL statements, applied in name order. Each file is one
// idempotent statement; {{db}} stands for the back-quoted control database.
//
//go:embed *.sql
var Files embed.FS
