// Package coord is how ClickVault's writers share one prefix of the bucket:
// where every object is (Layout: the only place a key is spelled), the
// store port, and the objects by which writers and readers keep out of each
// other's way — the chain lease, the prefix's owner, the probe of
// conditional writes, request claims and sidecar heartbeats, schedule slots,
// pins, work records, and the catalog index and check results' files.
//
// Both the engine (package sidecar) and the request runner (package
// control) use it; like them it imports no SDK (the store is sidecar/s3).
// It knows how these objects are written and read, never what a backup
// is: the content of a work record, an index or a check file is the
// engine's, and travels here as JSON.
package coord

import (
	"fmt"
	"net/url"
	"path"
	"strconv"
	"strings"
)

// Object names inside a backup folder. Both are part of the bucket's
// layout people and tools read (docs/how-backups-work.md).
const (
	MetaFile   = ".clickvault_meta.json"
	BackupFile = ".backup" // written by ClickHouse last: the completion marker
)

// Names in a database's folder and in the prefix's .clickvault/ folder.
const (
	leaseFile     = ".clickvault.lock" // the chain lease; the name predates the word "lease"
	pinsFolder    = ".clickvault_pins" // one object per operation reading backups
	indexFile     = ".clickvault_catalog.json"
	checkFile     = ".clickvault_check.json"
	controlFolder = ".clickvault"
	ownerFile     = "deployment.json"
	probeFolder   = "probe"
	claimsFolder  = "requests"
	claimSuffix   = ".claim"
	beatsFolder   = "sidecars"
	workFolder    = "work"
	// mirrorAsksName: the databases CLI runs changed (MirrorAsksKey).
	mirrorAsksName = "mirror-asks"
	jsonSuffix     = ".json"
	nodesFolder    = "nodes" // a cluster's node leases: one sidecar per node
	leaseSuffix    = ".lease"
)

// Schedule names the folder of one schedule's slots.
type Schedule string

// The schedules whose slots are kept under .clickvault/.
const (
	BackupSchedule Schedule = "schedule"
	CheckSchedule  Schedule = "schedule-check"
)

// Layout places everything in the bucket:
//
//	{prefix}/{database}/full/{name}/                      a backup (ClickHouse's files, .backup last)
//	{prefix}/{database}/full/{name}/.clickvault_meta.json its metadata
//	{prefix}/{database}/incremental/{name}/…
//	{prefix}/{database}/.clickvault.lock                  the chain lease
//	{prefix}/{database}/.clickvault_pins/{pin id}.json    pins of readers
//	{prefix}/{database}/.clickvault_catalog.json          the catalog index
//	{prefix}/{database}/.clickvault_check.json            check and verify results
//	{prefix}/.clickvault/deployment.json                  the prefix's owner
//	{prefix}/.clickvault/probe/{uuid}                     probes of conditional writes
//	{prefix}/.clickvault/requests/{request id}.claim      request claims
//	{prefix}/.clickvault/sidecars/{instance}.json         sidecar heartbeats
//	{prefix}/.clickvault/schedule/{database}/{slot}       scheduled backups' slots
//	{prefix}/.clickvault/schedule-check/{database}/{slot} scheduled checks' slots
//	{prefix}/.clickvault/work/{operation id}.json         work records
//
// The seed tool's layout ({prefix}/full/{name}/, no database) is read too.
//
// In a cluster each shard keeps its own chains, lease and catalog in a
// folder of the database ({prefix}/{database}/{Shard}/full/{name}/ …, see
// package cluster); Shard is "" on a single server. Request claims and
// heartbeats belong to one control plane (one server's requests table):
// in a cluster each node's are in a folder of their own, Plane
// ({prefix}/.clickvault/requests/{Plane}/…, sidecars/{Plane}/…), while
// schedule slots stay the cluster's.
type Layout struct {
	Prefix string
	Shard  string
	// Plane is the folder of this control plane's request claims and
	// sidecar heartbeats: "" on a single server, the node's in a cluster,
	// so that a node's sidecars never answer, claim or count as alive for
	// another node's requests table.
	Plane string
}

func (l Layout) join(parts ...string) string {
	p := strings.Trim(l.Prefix, "/")
	if p != "" {
		parts = append([]string{p}, parts...)
	}
	return path.Join(parts...)
}

// under joins parts below a database's folder: the shard's, in a cluster
// (path.Join drops an empty Shard).
func (l Layout) under(database string, parts ...string) string {
	return l.join(append([]string{database, l.Shard}, parts...)...)
}

// control is a key of ClickVault's own bookkeeping, under {prefix}/.clickvault/.
func (l Layout) control(parts ...string) string {
	return l.join(append([]string{controlFolder}, parts...)...)
}

// DatabaseRoot is the folder of one database's backups, with a trailing slash.
func (l Layout) DatabaseRoot(database string) string { return l.under(database) + "/" }

// KindRoot is the folder of one kind of backup (full, incremental) of a database.
func (l Layout) KindRoot(database, kind string) string {
	return l.under(database, kind) + "/"
}

// LegacyKindRoot is where the seed tool kept one kind of backup.
func (l Layout) LegacyKindRoot(kind string) string { return l.join(kind) + "/" }

// Folder is a backup's folder, with a trailing slash.
func (l Layout) Folder(database, kind, name string) string {
	return l.under(database, kind, name) + "/"
}

// MetaKey is the metadata object in a backup folder.
func MetaKey(folder string) string { return folder + MetaFile }

// BackupFileKey is ClickHouse's completion marker in a backup folder.
func BackupFileKey(folder string) string { return folder + BackupFile }

// FileKey is a file of a backup folder, by the path its manifest names.
func FileKey(folder, file string) string { return folder + file }

// FolderName is the last element of a folder: the backup's name.
func FolderName(folder string) string { return path.Base(strings.TrimSuffix(folder, "/")) }

// LeaseKey is the lease object of a database's chains.
func (l Layout) LeaseKey(database string) string { return l.under(database, leaseFile) }

// PinsRoot is the folder of a database's pins, with a trailing slash: a
// cleanup lists it once.
func (l Layout) PinsRoot(database string) string { return l.under(database, pinsFolder) + "/" }

// PinKey is one pin of a database's backups.
func (l Layout) PinKey(database, id string) string {
	return l.under(database, pinsFolder, id+jsonSuffix)
}

// IndexKey is where a database's catalog index is.
func (l Layout) IndexKey(database string) string { return l.under(database, indexFile) }

// CheckKey is where a database's check and verify results are.
func (l Layout) CheckKey(database string) string { return l.under(database, checkFile) }

// OwnerKey is where the prefix's owner is recorded.
func (l Layout) OwnerKey() string { return l.control(ownerFile) }

// ProbeKey is a throw-away object of a probe of conditional writes.
func (l Layout) ProbeKey(id string) string { return l.control(probeFolder, id) }

// ClaimKey is the claim object of a request.
func (l Layout) ClaimKey(requestID string) string {
	return l.control(claimsFolder, l.Plane, requestID+claimSuffix)
}

// HeartbeatsRoot is the folder of the sidecars' heartbeats, with a trailing slash.
func (l Layout) HeartbeatsRoot() string { return l.control(beatsFolder, l.Plane) + "/" }

// HeartbeatKey is a sidecar's heartbeat object; an instance's / and : are
// written as _.
func (l Layout) HeartbeatKey(instance string) string {
	return l.control(beatsFolder, l.Plane, strings.NewReplacer("/", "_", ":", "_").Replace(instance)+jsonSuffix)
}

// SlotKey is one time slot of a schedule for a database.
func (l Layout) SlotKey(s Schedule, database string, slot int64) string {
	return l.control(string(s), database, strconv.FormatInt(slot, 10))
}

// MirrorAsksKey is the object a CLI run names the databases it changed in
// ({prefix}/.clickvault/mirror-asks.json): the sidecars serving the
// prefix mirror them into their backups tables (MirrorAsks). One for a
// cluster's every node: a cleanup of sets deletes every shard's backups.
func (l Layout) MirrorAsksKey() string { return l.control(mirrorAsksName + jsonSuffix) }

// WorkRoot is the folder of the work records, with a trailing slash.
func (l Layout) WorkRoot() string { return l.control(workFolder) + "/" }

// WorkKey is where an operation's work record is kept.
func (l Layout) WorkKey(id string) string { return l.control(workFolder, id+jsonSuffix) }

// WorkID is the operation id of a work record's key.
func WorkID(key string) string { return strings.TrimSuffix(path.Base(key), jsonSuffix) }

// The cluster's keys (package cluster), beside the single server's: every
// key of the bucket is spelled in this file.

// Names in a database's sets folder.
const (
	setsFolder   = "sets"
	openSetsFile = "open.json"
	setFile      = "set.json"
	setRequests  = "set-requests"
	shardPrefix  = "shard-"
	restores     = "restores"
)

// ClusterLayout places a cluster's backups and sets in the bucket. Every key of a
// cluster is spelled here:
//
//	{prefix}/{cluster id}/{database}/shard-{n}/full/{name}/ …    shard n's chains, lease, pins, catalog
//	{prefix}/{cluster id}/.clickvault/requests/shard-{n}-replica-{r}/{request}.claim
//	                                                            a request claim of that node's sidecar (and sidecars/… its heartbeats)
//	{prefix}/{cluster id}/.clickvault/nodes/{cluster name}/shard-{n}-replica-{r}.lease
//	                                                            the sidecar working that node's part of sets (a lease)
//	{prefix}/{cluster id}/{database}/sets/open.json             the open sets: one GET per poll
//	{prefix}/{cluster id}/{database}/sets/{set}/set.json        the set: its shards, kind, requester, state
//	{prefix}/{cluster id}/{database}/sets/{set}/shard-{n}.claim the replica working shard n (a lease)
//	{prefix}/{cluster id}/{database}/sets/{set}/shard-{n}.json  how shard n's backup went
//	{prefix}/{cluster id}/{database}/sets/{set}/shard-{n}.replica-{r}.json  replica r's system.replicas rows
//	{prefix}/{cluster id}/{database}/set-requests/{request}.json the set a request made
//	{prefix}/{cluster id}/{database}/sets/{set}/restores/{target cluster}/{target}.json
//	                                                            a restore of the set into database target
//	{prefix}/{cluster id}/{database}/sets/{set}/restores/{target cluster}/{target}.shard-{n}.json
//	                                                            a restore of its shard n alone into target
//	{prefix}/{cluster id}/{database}/restores/{source id}/{set}/{target}.json (and {target}.shard-{n}.json)
//	                                                            a restore of another cluster's set onto this one
//
// A shard's folder holds exactly what a single server's database folder
// holds ({prefix}/{database}/…), so the engine runs on it unchanged
// (Engine). A single server has no cluster id and keeps its own layout.
type ClusterLayout struct {
	Prefix    string
	ClusterID string
}

// WithID is the layout of the cluster named id in the same bucket and
// prefix.
func (l ClusterLayout) WithID(id string) ClusterLayout {
	return ClusterLayout{Prefix: l.Prefix, ClusterID: id}
}

// root is {prefix}/{cluster id}: what the engine's layout calls its prefix.
func (l ClusterLayout) root() string {
	p := strings.Trim(l.Prefix, "/")
	if p == "" {
		return l.ClusterID
	}
	return p + "/" + l.ClusterID
}

func (l ClusterLayout) join(parts ...string) string {
	return path.Join(append([]string{l.root()}, parts...)...)
}

// ShardFolder is shard n's folder name inside a database's folder.
func ShardFolder(n int) string { return shardPrefix + strconv.Itoa(n) }

// ShardNumber is the shard a ShardFolder name names.
func ShardNumber(folder string) (int, error) {
	digits, ok := strings.CutPrefix(folder, shardPrefix)
	if !ok {
		return 0, fmt.Errorf("%q is not a shard's folder", folder)
	}
	n, err := strconv.Atoi(digits)
	if err != nil || n < 1 {
		return 0, fmt.Errorf("%q is not a shard's folder", folder)
	}
	return n, nil
}

// Engine is the engine's layout for shard n: its chains, lease, pins,
// catalog index and check record in {prefix}/{cluster id}/{database}/shard-{n}/.
func (l ClusterLayout) Engine(shard int) Layout {
	return Layout{Prefix: l.root(), Shard: ShardFolder(shard)}
}

// Node is the layout of the sidecar of replica r of shard n: the shard's
// chains (Engine), and request claims and heartbeats in a folder of the
// node's own, {prefix}/{cluster id}/.clickvault/requests/shard-{n}-replica-{r}/…
// (its requests table is its own: no other node's sidecar may answer them).
func (l ClusterLayout) Node(shard, replica int) Layout {
	out := l.Engine(shard)
	out.Plane = ShardFolder(shard) + "-replica-" + strconv.Itoa(replica)
	return out
}

// NodeLeaseKey is the lease the sidecar of replica r of shard n of cluster
// (its system.clusters name) holds while it works that node's part of
// sets: one sidecar per node. Two clusters given one cluster id by
// mistake (foreign.go) keep node leases of their own.
func (l ClusterLayout) NodeLeaseKey(cluster string, shard, replica int) string {
	return l.join(controlFolder, nodesFolder, url.PathEscape(cluster), ShardFolder(shard)+"-replica-"+strconv.Itoa(replica)+leaseSuffix)
}

// ShardRoot is shard n's folder of a database, with a trailing slash.
func (l ClusterLayout) ShardRoot(database string, shard int) string {
	return l.join(database, ShardFolder(shard)) + "/"
}

// SetsRoot is the folder of a database's sets, with a trailing slash.
func (l ClusterLayout) SetsRoot(database string) string { return l.join(database, setsFolder) + "/" }

// OpenSetsKey is the small object that lists a database's open sets.
func (l ClusterLayout) OpenSetsKey(database string) string {
	return l.join(database, setsFolder, openSetsFile)
}

// SetRoot is one set's folder, with a trailing slash.
func (l ClusterLayout) SetRoot(database, set string) string {
	return l.join(database, setsFolder, set) + "/"
}

// SetKey is a set's record.
func (l ClusterLayout) SetKey(database, set string) string {
	return l.join(database, setsFolder, set, setFile)
}

// ClaimKey is the lease the replica working shard n of a set holds.
func (l ClusterLayout) ClaimKey(database, set string, shard int) string {
	return l.join(database, setsFolder, set, ShardFolder(shard)+claimSuffix)
}

// ResultKey is the record of how shard n's backup of a set went.
func (l ClusterLayout) ResultKey(database, set string, shard int) string {
	return l.join(database, setsFolder, set, ShardFolder(shard)+jsonSuffix)
}

// SetOfRequestKey records which set a request made, so the request's
// sidecar, restarted before it answered, answers from that set rather than
// make a second one (the set may be sealed and gone from open.json).
func (l ClusterLayout) SetOfRequestKey(database, requestID string) string {
	return l.join(database, setRequests, requestID+jsonSuffix)
}

// SetRequestsFolder holds the SetOfRequestKey records of a database.
func (l ClusterLayout) SetRequestsFolder(database string) string {
	return l.join(database, setRequests) + "/"
}

// RestoreKey is the record of a set's restore into database target of the
// cluster named targetCluster in the bucket: one per set and target, so
// that running the restore again goes on from it. A restore of source
// shard n alone (shard != 0) has a record of its own, {target}.shard-{n}:
// a target is a name of letters, digits, _ and -, so the two never meet.
func (l ClusterLayout) RestoreKey(database, set, targetCluster, target string, shard int) string {
	name := target
	if shard != 0 {
		name += "." + ShardFolder(shard)
	}
	return l.join(database, setsFolder, set, restores, targetCluster, name+jsonSuffix)
}

// SourceRestoreKey is the record of a restore of another cluster's set
// (the source cluster, by its id in the bucket) into database target of
// this one: {prefix}/{cluster id}/{database}/restores/{source id}/{set}/{target}.json,
// or {target}.shard-{n}.json for source shard n alone. It lives in this
// cluster's folder, so a restore writes nothing under the source's id,
// which may be read-only to it (RestoreKey is the record of a restore of
// one's own set).
func (l ClusterLayout) SourceRestoreKey(database, source, set, target string, shard int) string {
	name := target
	if shard != 0 {
		name += "." + ShardFolder(shard)
	}
	return l.join(database, restores, source, set, name+jsonSuffix)
}

// FailedAttemptKey is replica r's failed backup of shard n for a set: the
// shard's other replicas try it before its result is written failed.
func (l ClusterLayout) FailedAttemptKey(database, set string, shard, replica int) string {
	return l.join(database, setsFolder, set, ShardFolder(shard)+".failed-replica-"+strconv.Itoa(replica)+jsonSuffix)
}

// ReplicaHealthKey is what replica r of shard n reported of its
// system.replicas for a set: the choice of the replica that backs the
// shard up reads every replica's.
func (l ClusterLayout) ReplicaHealthKey(database, set string, shard, replica int) string {
	return l.join(database, setsFolder, set, ShardFolder(shard)+".replica-"+strconv.Itoa(replica)+jsonSuffix)
}
