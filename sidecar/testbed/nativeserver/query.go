package nativeserver

import (
	"errors"
	"fmt"

	"github.com/ClickHouse/ch-go/proto"

	"github.com/clickvault/clickvault/sidecar/testbed/chdb"
)

// ClickHouse error codes the front end raises itself.
const (
	codeNotImplemented    = 48
	codeUnknownType       = 50
	codeBadQueryParameter = 457
	codeStdException      = 1001
)

// errClientCancelled ends a connection whose client cancelled while sending
// INSERT data; ch-go closes such a connection anyway.
var errClientCancelled = errors.New("client cancelled the query")

func (c *session) handleQuery() error {
	var q proto.Query
	if err := q.DecodeAware(c.r, c.revision); err != nil {
		return fmt.Errorf("decode query: %w", err)
	}
	compressed := q.Compression == proto.CompressionEnabled
	external, err := c.readDataBlocks(compressed, func(block) error { return nil })
	if err != nil {
		return err
	}
	if external > 0 {
		c.sendException(codeNotImplemented, "DB::Exception: external tables are not supported by the test bed (NOT_IMPLEMENTED)")
		return nil
	}
	params, err := decodeParams(q.Parameters)
	if err != nil {
		c.sendException(codeBadQueryParameter, "DB::Exception: "+err.Error()+" (BAD_QUERY_PARAMETER)")
		return nil
	}
	c.log.Debug("query", "user", c.user, "id", q.ID, "body", q.Body)
	if ins, ok := parseInsert(q.Body); ok {
		return c.runInsert(q, ins, params, compressed)
	}
	if res, handled, err := c.inlineValuesAsUser(q); handled || err != nil {
		if err != nil {
			c.sendEngineError(err)
			return nil
		}
		return c.endOfStream(res)
	}
	return c.runStatement(q, params, compressed)
}

func decodeParams(in []proto.Parameter) ([]chdb.Param, error) {
	out := make([]chdb.Param, 0, len(in))
	for _, p := range in {
		v, err := unquoteLiteral(p.Value)
		if err != nil {
			return nil, fmt.Errorf("read query parameter %s: %w", p.Key, err)
		}
		out = append(out, chdb.Param{Name: p.Key, Value: v})
	}
	return out, nil
}

// runStatement runs anything but an INSERT that awaits data, and sends its
// output as Data packets.
func (c *session) runStatement(q proto.Query, params []chdb.Param, compressed bool) error {
	res, err := c.srv.withSettings(q.Settings, func() (*chdb.Result, error) {
		return c.srv.engine.Query(q.Body, "Native", params)
	})
	if err != nil {
		c.sendEngineError(err)
		return nil
	}
	if c.cancelRequested() {
		return c.endOfStream(res)
	}
	var blocks []block
	if len(res.Data) > 0 {
		if blocks, err = decodeNative(res.Data); err != nil {
			c.sendException(codeUnknownType, "DB::Exception: test bed cannot send this result: "+err.Error()+" (UNKNOWN_TYPE)")
			return nil
		}
	}
	for _, b := range blocks {
		if err := c.writeData(b, compressed); err != nil {
			return err
		}
	}
	return c.endOfStream(res)
}

// runInsert tells the client the columns it must send, reads its blocks and
// hands them to the engine as Native data in one INSERT.
func (c *session) runInsert(q proto.Query, ins insertAwaitingData, params []chdb.Param, compressed bool) error {
	header, err := c.insertHeader(ins, params)
	if err != nil {
		c.sendEngineError(err)
		return nil
	}
	if err := c.writeData(header, compressed); err != nil {
		return err
	}
	var blocks []block
	if _, err := c.readDataBlocks(compressed, func(b block) error {
		blocks = append(blocks, b)
		return nil
	}); err != nil {
		return err
	}
	res := &chdb.Result{}
	if len(blocks) > 0 {
		if res, err = c.insertBlocks(q, ins, blocks); err != nil {
			c.sendEngineError(err)
			return nil
		}
	}
	return c.endOfStream(res)
}

// insertBlocks hands client blocks to the engine as one Native INSERT.
func (c *session) insertBlocks(q proto.Query, ins insertAwaitingData, blocks []block) (*chdb.Result, error) {
	if c.user != defaultUser {
		cols, err := c.currentUserColumns(ins.table)
		if err != nil {
			return nil, err
		}
		if len(cols) > 0 {
			return c.insertAsUser(q, ins, blocks, cols)
		}
	}
	data, err := encodeNative(blocks)
	if err != nil {
		return nil, err
	}
	statement := insertStatement(ins, blockColumnNames(blocks))
	return c.srv.withSettings(q.Settings, func() (*chdb.Result, error) {
		return c.srv.engine.Insert(statement, data)
	})
}

// insertHeader asks the engine which columns an INSERT takes. Selecting them
// with LIMIT 0 leaves out MATERIALIZED and ALIAS columns, as ClickHouse does.
func (c *session) insertHeader(ins insertAwaitingData, params []chdb.Param) (block, error) {
	query := fmt.Sprintf("SELECT %s FROM %s LIMIT 0", ins.columns, ins.table)
	res, err := c.srv.withSettings(nil, func() (*chdb.Result, error) {
		return c.srv.engine.Query(query, "TSVWithNamesAndTypes", params)
	})
	if err != nil {
		return block{}, err
	}
	names, types, err := parseNamesAndTypes(res.Data)
	if err != nil {
		return block{}, err
	}
	return headerBlock(names, types)
}

// readDataBlocks reads Data packets up to the empty block that ends them.
func (c *session) readDataBlocks(compressed bool, each func(block) error) (int, error) {
	n := 0
	for {
		code, err := c.nextPacket()
		if err != nil {
			return n, err
		}
		switch proto.ClientCode(code) {
		case proto.ClientCodeData:
		case proto.ClientCodeCancel:
			return n, errClientCancelled
		default:
			return n, fmt.Errorf("expected data packet, got %d", code)
		}
		b, end, err := c.readDataBlock(compressed)
		if err != nil {
			return n, err
		}
		if end {
			return n, nil
		}
		n++
		if err := each(b); err != nil {
			return n, fmt.Errorf("take data block %d: %w", n, err)
		}
	}
}

func (c *session) readDataBlock(compressed bool) (block, bool, error) {
	var data proto.ClientData
	if err := data.DecodeAware(c.r, c.revision); err != nil {
		return block{}, false, fmt.Errorf("decode data packet: %w", err)
	}
	if compressed {
		c.r.EnableCompression()
		defer c.r.DisableCompression()
	}
	var info proto.BlockInfo
	if proto.FeatureBlockInfo.In(c.revision) {
		if err := info.Decode(c.r); err != nil {
			return block{}, false, fmt.Errorf("decode block info: %w", err)
		}
	}
	b, err := decodeOne(c.r, c.revision)
	if err != nil {
		return block{}, false, fmt.Errorf("decode data block: %w", err)
	}
	return b, len(b.columns) == 0 && b.rows == 0, nil
}

// writeData sends one Data packet, compressed when the query asked for it.
func (c *session) writeData(b block, compressed bool) error {
	packetStart := len(c.buf.Buf)
	proto.ServerCodeData.Encode(&c.buf)
	proto.ClientData{}.EncodeAware(&c.buf, c.revision) // no temporary table
	blockStart := len(c.buf.Buf)
	if err := encodeProtocol(&c.buf, c.revision, b); err != nil {
		c.buf.Buf = c.buf.Buf[:packetStart]
		c.sendException(codeUnknownType, "DB::Exception: "+err.Error()+" (UNKNOWN_TYPE)")
		return nil
	}
	if compressed {
		if err := c.compressor.Compress(c.buf.Buf[blockStart:]); err != nil {
			return fmt.Errorf("compress data block: %w", err)
		}
		c.buf.Buf = append(c.buf.Buf[:blockStart], c.compressor.Data...)
	}
	return c.flush()
}

func (c *session) endOfStream(res *chdb.Result) error {
	proto.ServerCodeProgress.Encode(&c.buf)
	proto.Progress{Rows: res.RowsRead, Bytes: res.BytesRead, WroteRows: res.RowsWritten}.EncodeAware(&c.buf, c.revision)
	proto.ServerCodeEndOfStream.Encode(&c.buf)
	return c.flush()
}

func (c *session) sendEngineError(err error) {
	var qe *chdb.QueryError
	if errors.As(err, &qe) {
		c.sendException(qe.Code(), qe.Message())
		return
	}
	c.sendException(codeStdException, "DB::Exception: "+err.Error()+" (STD_EXCEPTION)")
}

// cancelRequested looks, without blocking, for a Cancel the client sent while
// the engine ran. The engine cannot be interrupted, so a cancel only drops
// the result. Another packet found here is kept for the packet loop.
func (c *session) cancelRequested() bool {
	if !inputWaiting(c.in, c.conn) {
		return false
	}
	code, err := c.r.UVarInt()
	if err != nil {
		return true // the connection is gone: nobody wants the result
	}
	if proto.ClientCode(code) == proto.ClientCodeCancel {
		return true
	}
	c.pending = &code
	return false
}
