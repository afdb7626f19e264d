// Package model is ClickVault's pure model: backups and their metadata,
// the catalog and its chains, the backup plan, retention, table sets,
// manifests, and the restore plan, shape and targets. It reads, writes and
// waits for nothing: the engine (package sidecar) reads the facts, asks the
// model what they mean, and acts. Every rule here is a function of its
// arguments, which is what lets the safety rules be tested by mutation
// (docs/mutants.md).
package model
