// Package nativeserver serves ClickHouse's native TCP protocol in front of an
// embedded engine (libchdb), so that code under test talks to the test bed
// exactly as it talks to a ClickHouse server in production: through ch-go,
// over TCP, with real exceptions, blocks and parameters.
//
// The engine runs one statement at a time; the server serialises statements
// from all connections, which is correct but not concurrent.
package nativeserver

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"regexp"
	"sync"

	"github.com/ClickHouse/ch-go/compress"
	"github.com/ClickHouse/ch-go/proto"
	"golang.org/x/sync/errgroup"

	"github.com/clickvault/clickvault/sidecar/testbed/chdb"
)

// Engine runs statements; *chdb.Engine is the production one.
type Engine interface {
	Query(query, format string, params []chdb.Param) (*chdb.Result, error)
	Insert(statement string, native []byte) (*chdb.Result, error)
}

// Server accepts native-protocol connections for one engine.
type Server struct {
	engine  Engine
	users   map[string]string
	version Version
	logger  *slog.Logger

	// statement serialises a statement with the settings applied around it,
	// so one connection's settings never leak into another's statement.
	statement sync.Mutex
}

// Version is what the server reports in its hello.
type Version struct {
	Major, Minor, Patch int
}

// New returns a server for engine. users maps user names to passwords; a
// client must log in as one of them (ClickHouse's code 516 otherwise).
func New(engine Engine, users map[string]string, version Version, logger *slog.Logger) *Server {
	return &Server{engine: engine, users: users, version: version, logger: logger}
}

// Serve accepts connections on ln until ctx is cancelled, then closes ln and
// every open connection and waits for their handlers.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	g, ctx := errgroup.WithContext(ctx)
	stop := context.AfterFunc(ctx, func() { _ = ln.Close() })
	defer stop()
	var acceptErr error
	for {
		conn, err := ln.Accept()
		if err != nil {
			if ctx.Err() == nil {
				acceptErr = fmt.Errorf("accept connection: %w", err)
			}
			break
		}
		g.Go(func() error {
			s.serveConn(ctx, conn)
			return nil
		})
	}
	cancel()
	return errors.Join(acceptErr, g.Wait())
}

func (s *Server) serveConn(ctx context.Context, conn net.Conn) {
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { _ = conn.Close() })
	defer stop()
	in := newInput(conn)
	sess := &session{
		srv:        s,
		conn:       conn,
		in:         in,
		r:          proto.NewReader(in),
		compressor: compress.NewWriter(compress.LevelLZ4HCDefault, compress.LZ4),
		log:        s.logger.With("remote", conn.RemoteAddr().String()),
	}
	err := sess.run()
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) && ctx.Err() == nil {
		sess.log.Warn("connection ended", "err", err)
	}
}

// session is one client connection.
type session struct {
	srv        *Server
	conn       net.Conn
	in         *bufio.Reader // under r; shows what the client sent and r has not read
	r          *proto.Reader
	buf        proto.Buffer
	revision   int
	user       string
	compressor *compress.Writer
	log        *slog.Logger

	// pending is a packet code read while looking for a Cancel, to be
	// handled by the packet loop.
	pending *uint64
}

func (c *session) nextPacket() (uint64, error) {
	if c.pending != nil {
		code := *c.pending
		c.pending = nil
		return code, nil
	}
	code, err := c.r.UVarInt()
	if err != nil {
		return 0, fmt.Errorf("read packet: %w", err)
	}
	return code, nil
}

func (c *session) run() error {
	if err := c.handshake(); err != nil {
		return err
	}
	for {
		code, err := c.nextPacket()
		if err != nil {
			return err
		}
		switch proto.ClientCode(code) {
		case proto.ClientCodePing:
			proto.ServerCodePong.Encode(&c.buf)
			err = c.flush()
		case proto.ClientCodeQuery:
			err = c.handleQuery()
		case proto.ClientCodeCancel:
			// A cancel that arrives after its query ended needs no answer.
		case proto.ClientCodeHello:
			// ch-go sends 0x00 0x03 when it cancels and then closes the
			// connection: the end of this client, not a protocol error.
			return io.EOF
		default:
			err = fmt.Errorf("unexpected packet %d outside a query", code)
		}
		if err != nil {
			return err
		}
	}
}

func (c *session) handshake() error {
	code, err := c.r.UVarInt()
	if err != nil {
		return fmt.Errorf("read hello: %w", err)
	}
	if proto.ClientCode(code) != proto.ClientCodeHello {
		return fmt.Errorf("expected hello, got packet %d", code)
	}
	var hello proto.ClientHello
	if err := hello.Decode(c.r); err != nil {
		return fmt.Errorf("decode hello: %w", err)
	}
	c.revision = min(hello.ProtocolVersion, proto.Version)
	if want, ok := c.srv.users[hello.User]; !ok || want != hello.Password {
		c.sendException(516, fmt.Sprintf("DB::Exception: %s: Authentication failed: password is incorrect, "+
			"or there is no user with such name. (AUTHENTICATION_FAILED)", hello.User))
		return fmt.Errorf("refuse login of user %q", hello.User)
	}
	c.user = hello.User
	v := c.srv.version
	server := proto.ServerHello{
		Name: "ClickHouse", Major: v.Major, Minor: v.Minor, Patch: v.Patch,
		Revision: c.revision, Timezone: "UTC", DisplayName: "clickvault-testbed",
	}
	server.EncodeAware(&c.buf, c.revision)
	if err := c.flush(); err != nil {
		return err
	}
	if proto.FeatureAddendum.In(c.revision) {
		if _, err := c.r.Str(); err != nil { // quota key, unused here
			return fmt.Errorf("read hello addendum: %w", err)
		}
	}
	return nil
}

func (c *session) flush() error {
	if len(c.buf.Buf) == 0 {
		return nil
	}
	_, err := c.conn.Write(c.buf.Buf)
	c.buf.Reset()
	if err != nil {
		return fmt.Errorf("write to client: %w", err)
	}
	return nil
}

// sendException sends a ClickHouse exception, text being its display text
// ("DB::Exception: … (NAME)"), and flushes; a write error surfaces on the
// next read.
func (c *session) sendException(code int, text string) {
	proto.ServerCodeException.Encode(&c.buf)
	e := proto.Exception{Code: proto.Error(code), Name: "DB::Exception", Message: text}
	e.EncodeAware(&c.buf, c.revision)
	_ = c.flush()
}

// withSettings runs fn with the client's query settings applied to the
// engine's session and resets them afterwards, all under the statement lock.
func (s *Server) withSettings(settings []proto.Setting, fn func() (*chdb.Result, error)) (*chdb.Result, error) {
	s.statement.Lock()
	defer s.statement.Unlock()
	var applied []string
	defer func() {
		for _, key := range applied {
			if _, err := s.engine.Query("SET "+key+" = DEFAULT", "Native", nil); err != nil {
				s.logger.Warn("reset setting", "setting", key, "err", err)
			}
		}
	}()
	for _, st := range settings {
		if !settingName.MatchString(st.Key) {
			return nil, fmt.Errorf("apply setting: %q is not a setting name", st.Key)
		}
		value := quoteLiteral(st.Value)
		if st.Custom {
			value = st.Value // custom settings arrive as SQL literals already
		}
		if _, err := s.engine.Query("SET "+st.Key+" = "+value, "Native", nil); err != nil {
			return nil, err
		}
		applied = append(applied, st.Key)
	}
	return fn()
}

var settingName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
