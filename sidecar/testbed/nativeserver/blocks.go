package nativeserver

import (
	"bytes"
	"errors"
	"fmt"
	"io"

	"github.com/ClickHouse/ch-go/proto"
)

// nativeRevision is the revision whose block layout equals ClickHouse's
// Native format: no BlockInfo and no per-column custom-serialization flag.
const nativeRevision = 0

// block is one decoded block: named, typed columns of equal length.
type block struct {
	rows    int
	columns []proto.InputColumn
}

// decodeNative splits the engine's Native output (blocks back to back) into
// typed blocks. Types that ch-go cannot infer are refused by name, so a test
// sees which type the test bed lacks instead of corrupt data.
func decodeNative(data []byte) ([]block, error) {
	r := proto.NewReader(bytes.NewReader(data))
	var out []block
	for {
		b, err := decodeOne(r, nativeRevision)
		if errors.Is(err, io.EOF) && len(out) > 0 {
			// A clean end: the reader found no byte where a block starts.
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("decode engine output block %d: %w", len(out)+1, err)
		}
		out = append(out, b)
	}
}

// decodeOne reads one block without BlockInfo (the caller has read it where
// the revision has one).
func decodeOne(r *proto.Reader, revision int) (block, error) {
	var (
		meta    proto.Block
		results proto.Results
	)
	if err := meta.DecodeRawBlock(r, revision, results.Auto()); err != nil {
		return block{}, err
	}
	b := block{rows: meta.Rows}
	for _, c := range results {
		b.columns = append(b.columns, proto.InputColumn{Name: c.Name, Data: c.Data.(proto.ColInput)})
	}
	return b, nil
}

// encodeNative writes blocks in Native format, as the engine reads them.
func encodeNative(blocks []block) ([]byte, error) {
	var buf proto.Buffer
	for _, b := range blocks {
		meta := proto.Block{Columns: len(b.columns), Rows: b.rows}
		if err := meta.EncodeRawBlock(&buf, nativeRevision, b.columns); err != nil {
			return nil, fmt.Errorf("encode native block: %w", err)
		}
	}
	return buf.Buf, nil
}

// encodeProtocol appends b as the body of a Data packet for revision (after
// the packet code and temporary-table name).
func encodeProtocol(buf *proto.Buffer, revision int, b block) error {
	meta := proto.Block{
		Info:    proto.BlockInfo{BucketNum: -1},
		Columns: len(b.columns),
		Rows:    b.rows,
	}
	if err := meta.EncodeBlock(buf, revision, b.columns); err != nil {
		return fmt.Errorf("encode data block: %w", err)
	}
	return nil
}

// headerBlock is a block with no rows that tells a client the names and types
// it must send, as ClickHouse does before it reads INSERT data.
func headerBlock(names, types []string) (block, error) {
	b := block{}
	for i, name := range names {
		col := &proto.ColAuto{}
		if err := col.Infer(proto.ColumnType(types[i])); err != nil {
			return block{}, fmt.Errorf("describe column %s of type %s: %w", name, types[i], err)
		}
		b.columns = append(b.columns, proto.InputColumn{Name: name, Data: col})
	}
	return b, nil
}
