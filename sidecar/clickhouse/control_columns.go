package clickhouse

import (
	"fmt"
	"math"
	"time"

	"github.com/ClickHouse/ch-go/proto"
	"github.com/google/uuid"

	"github.com/clickvault/clickvault/sidecar/control"
)

type pendingColumns struct {
	id, action, database, kind, backup, target, requestedBy, state, logBackup, operationID proto.ColStr
	via, mode, consumers, source, queryID, proof                                           proto.ColStr
	shard                                                                                  proto.ColUInt16
	tables, excludeTables, partitions                                                      *proto.ColArr[string]
	asOf, requestedAt                                                                      proto.ColInt64
	logins, block, offset                                                                  proto.ColUInt64
	dryRun                                                                                 proto.ColBool
	hasAsOf                                                                                proto.ColUInt8
}

func newPendingColumns() *pendingColumns {
	return &pendingColumns{tables: new(proto.ColStr).Array(), excludeTables: new(proto.ColStr).Array(),
		partitions: new(proto.ColStr).Array()}
}

func (c *pendingColumns) results() proto.Results {
	return proto.Results{
		{Name: "id", Data: &c.id}, {Name: "action", Data: &c.action}, {Name: "database", Data: &c.database},
		{Name: "kind", Data: &c.kind}, {Name: "backup", Data: &c.backup}, {Name: "as_of", Data: &c.asOf}, {Name: "has_as_of", Data: &c.hasAsOf},
		{Name: "target", Data: &c.target}, {Name: "dry_run", Data: &c.dryRun},
		{Name: "via", Data: &c.via}, {Name: "tables", Data: c.tables}, {Name: "exclude_tables", Data: c.excludeTables},
		{Name: "partitions", Data: c.partitions}, {Name: "mode", Data: &c.mode}, {Name: "consumers", Data: &c.consumers},
		{Name: "shard", Data: &c.shard}, {Name: "source", Data: &c.source},
		{Name: "query_id", Data: &c.queryID}, {Name: "proof", Data: &c.proof},
		{Name: "requested_by", Data: &c.requestedBy}, {Name: "requested_at", Data: &c.requestedAt}, {Name: "logins", Data: &c.logins},
		{Name: "block", Data: &c.block}, {Name: "offset", Data: &c.offset},
		{Name: "state", Data: &c.state}, {Name: "log_backup", Data: &c.logBackup}, {Name: "operation_id", Data: &c.operationID},
	}
}

func (c *pendingColumns) row(i int) control.PendingRequest {
	p := control.PendingRequest{Request: control.Request{
		ID: c.id.Row(i), Action: control.Action(c.action.Row(i)), Database: c.database.Row(i), Kind: c.kind.Row(i),
		Backup: c.backup.Row(i), Target: c.target.Row(i), DryRun: c.dryRun.Row(i),
		RequestedBy: c.requestedBy.Row(i), Via: c.via.Row(i), RequestedAt: time.UnixMilli(c.requestedAt.Row(i)).UTC(),
		Tables: c.tables.Row(i), ExcludeTables: c.excludeTables.Row(i), Partitions: c.partitions.Row(i), Mode: c.mode.Row(i),
		Consumers: c.consumers.Row(i), Shard: int(c.shard.Row(i)), Source: c.source.Row(i), QueryID: c.queryID.Row(i), Proof: c.proof.Row(i),
	}}
	p.Logins = int(min(c.logins.Row(i), math.MaxInt)) // a count of logins; the bound only satisfies the conversion
	p.Mark = control.ReadMark{Block: c.block.Row(i), Offset: c.offset.Row(i)}
	// No value stands for "no as_of": a time before 1970 is a time too.
	if c.hasAsOf.Row(i) == 1 {
		t := time.UnixMilli(c.asOf.Row(i)).UTC()
		p.AsOf = &t
	}
	if state := c.state.Row(i); state != "" {
		p.Latest = &control.LogEntry{RequestID: p.ID, State: control.State(state), Backup: c.logBackup.Row(i), OperationID: c.operationID.Row(i)}
	}
	return p
}

type logColumns struct {
	requestID                                       proto.ColUUID
	action, state                                   *proto.ColLowCardinality[string]
	database, backup, message, operationID, sidecar proto.ColStr
	numFiles, totalSize, bytesRead                  proto.ColUInt64
	at                                              *proto.ColDateTime64
}

func newLogColumns() *logColumns {
	return &logColumns{
		action: new(proto.ColStr).LowCardinality(), state: new(proto.ColStr).LowCardinality(),
		at: new(proto.ColDateTime64).WithPrecision(proto.PrecisionMicro),
	}
}

// logEntryID is the request id of a request_log row, which the column
// holds as a UUID.
func logEntryID(e control.LogEntry) (uuid.UUID, error) {
	id, err := uuid.Parse(e.RequestID)
	if err != nil {
		return id, fmt.Errorf("request id %q: %w", e.RequestID, err)
	}
	return id, nil
}

func (c *logColumns) append(e control.LogEntry) error {
	id, err := logEntryID(e)
	if err != nil {
		return err
	}
	c.requestID.Append(id)
	c.action.Append(string(e.Action))
	c.state.Append(string(e.State))
	c.database.Append(e.Database)
	c.backup.Append(e.Backup)
	c.message.Append(e.Message)
	c.operationID.Append(e.OperationID)
	c.sidecar.Append(e.Sidecar)
	c.numFiles.Append(e.NumFiles)
	c.totalSize.Append(e.TotalSize)
	c.bytesRead.Append(e.BytesRead)
	c.at.Append(e.At)
	return nil
}

func (c *logColumns) input() proto.Input {
	return proto.Input{
		{Name: "request_id", Data: &c.requestID}, {Name: "action", Data: c.action}, {Name: "database", Data: &c.database},
		{Name: "state", Data: c.state}, {Name: "backup", Data: &c.backup}, {Name: "message", Data: &c.message},
		{Name: "num_files", Data: &c.numFiles}, {Name: "total_size", Data: &c.totalSize}, {Name: "bytes_read", Data: &c.bytesRead},
		{Name: "at", Data: c.at}, {Name: "operation_id", Data: &c.operationID}, {Name: "sidecar", Data: &c.sidecar},
	}
}

type statusColumns struct {
	id, action, database, kind, state, backup, message, requestedBy, via proto.ColStr
	numFiles, totalSize, bytesRead                                       proto.ColUInt64
	requestedAt, updatedAt                                               proto.ColInt64
}

func newStatusColumns() *statusColumns { return &statusColumns{} }

func (c *statusColumns) results() proto.Results {
	return proto.Results{
		{Name: "rid", Data: &c.id}, {Name: "action", Data: &c.action}, {Name: "database", Data: &c.database},
		{Name: "kind", Data: &c.kind}, {Name: "state", Data: &c.state}, {Name: "backup", Data: &c.backup},
		{Name: "message", Data: &c.message}, {Name: "num_files", Data: &c.numFiles}, {Name: "total_size", Data: &c.totalSize},
		{Name: "bytes_read", Data: &c.bytesRead}, {Name: "requested_by", Data: &c.requestedBy}, {Name: "via", Data: &c.via},
		{Name: "requested_at", Data: &c.requestedAt}, {Name: "updated_at", Data: &c.updatedAt},
	}
}

func (c *statusColumns) row(i int) control.RequestStatus {
	return control.RequestStatus{
		ID: c.id.Row(i), Action: control.Action(c.action.Row(i)), Database: c.database.Row(i), Kind: c.kind.Row(i),
		State: control.State(c.state.Row(i)), Backup: c.backup.Row(i), Message: c.message.Row(i),
		NumFiles: c.numFiles.Row(i), TotalSize: c.totalSize.Row(i), BytesRead: c.bytesRead.Row(i),
		RequestedBy: c.requestedBy.Row(i), Via: c.via.Row(i), RequestedAt: time.UnixMilli(c.requestedAt.Row(i)).UTC(),
		UpdatedAt: time.UnixMicro(c.updatedAt.Row(i)).UTC(),
	}
}
