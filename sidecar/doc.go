// Package sidecar is ClickVault's engine: the Service that runs backups,
// restores, verification, check and cleanup through its ports — a
// coord.ObjectStore (S3, coordinated by package coord) and a Database
// (ClickHouse) — deciding with the pure model of package model. It imports
// no SDK; adapters live in sidecar/s3 and sidecar/clickhouse. The request
// runner that serves SQL and HTTP requests with it is package
// sidecar/control.
package sidecar
