package control

import (
	"time"

	"github.com/clickvault/clickvault/sidecar"
	"github.com/clickvault/clickvault/sidecar/model"
)

// Job is a request that passed parseJob: defaults resolved (database,
// target), the action trimmed, names validated, the kind and as_of parsed.
// Every step after parseJob takes a Job and trusts its fields; none parses
// the row again.
type Job struct {
	Request
	// Operator says the row is the sidecar's own (its proof checks out,
	// see proof.go), judged on the row as inserted, before defaults.
	Operator bool
	// DB is the database, validated once (parseFields); later steps pass
	// it on instead of validating the row's text again.
	DB model.DatabaseName
	// Kind is the parsed backup kind; it shadows the row's text.
	Kind model.Kind
	// AsOf is the row's as_of, zero for "the newest"; it shadows the row's
	// nullable value.
	AsOf time.Time
	// TargetExists says whether a restore's target database existed when
	// admission looked: a missing one takes CREATE DATABASE too.
	TargetExists bool
	// Set is a backup's table set: the request's, else the
	// configuration's for the database. OwnTableSet says the request named
	// one, which (like kind full) may start a new chain.
	Set         model.TableSet
	OwnTableSet bool
	// Restores are a restore's tables, empty for the whole database;
	// RestoreMode says what it writes over.
	Restores    []model.TableRestore
	RestoreMode model.RestoreMode
	// Consumers is a restore's parsed choice; it shadows the row's text.
	Consumers model.Consumers
	// ChosenSource is where admission found a restore's or verify's backup
	// (the primary, or a copy target, named or fallen back on), so the run
	// does not ask a primary that could not serve it again; nil for a
	// request adopted after a restart, which was admitted before it.
	ChosenSource *sidecar.Source
}
