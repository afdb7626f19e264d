package clickhouse

import (
	"strings"

	"github.com/ClickHouse/ch-go/proto"

	"github.com/clickvault/clickvault/sidecar"
)

// operationResult holds the columns of operationColumns.
type operationResult struct {
	id, name, base, status, errText                        proto.ColStr
	files, size, uncompressed, compressed, read, bytesRead proto.ColUInt64
	start, end                                             *proto.ColDateTime64
}

func newOperationColumns() *operationResult {
	return &operationResult{
		start: new(proto.ColDateTime64).WithPrecision(proto.PrecisionMilli),
		end:   new(proto.ColDateTime64).WithPrecision(proto.PrecisionMilli),
	}
}

func (c *operationResult) results() proto.Results {
	return proto.Results{
		{Name: "id", Data: &c.id}, {Name: "name", Data: &c.name}, {Name: "base_backup_name", Data: &c.base},
		{Name: "status", Data: &c.status}, {Name: "error", Data: &c.errText},
		{Name: "num_files", Data: &c.files}, {Name: "total_size", Data: &c.size},
		{Name: "uncompressed_size", Data: &c.uncompressed}, {Name: "compressed_size", Data: &c.compressed},
		{Name: "files_read", Data: &c.read}, {Name: "bytes_read", Data: &c.bytesRead},
		{Name: "start", Data: c.start}, {Name: "end", Data: c.end},
	}
}

func (c *operationResult) row(i int, r *redactor) sidecar.Operation {
	return sidecar.Operation{
		ID: c.id.Row(i), Name: r.redact(c.name.Row(i)), BaseBackupName: r.redact(c.base.Row(i)),
		Status: sidecar.OperationStatus(c.status.Row(i)), Error: ErrorHeadline(r.redact(c.errText.Row(i))), ErrorDetail: r.redact(c.errText.Row(i)),
		NumFiles: c.files.Row(i), TotalSize: c.size.Row(i),
		UncompressedSize: c.uncompressed.Row(i), CompressedSize: c.compressed.Row(i),
		FilesRead: c.read.Row(i), BytesRead: c.bytesRead.Row(i),
		StartTime: c.start.Row(i), EndTime: c.end.Row(i),
	}
}

// ErrorHeadline is what people read of a ClickHouse error text: its code and
// first line, without the stack trace ClickHouse appends
// ("…(ACCESS_DENIED), Stack trace (when copying this message, …):" and
// twenty lines of addresses).
func ErrorHeadline(text string) string {
	line, _, _ := strings.Cut(strings.TrimSpace(text), "\n")
	if i := strings.Index(line, "Stack trace"); i >= 0 {
		line = line[:i]
	}
	return strings.TrimRight(line, ", ")
}
