package testbed

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/ClickHouse/ch-go"
	"github.com/ClickHouse/ch-go/proto"
)

// DialSecondary connects as user, like Dial, but every query it sends with
// a QueryID is marked as a *secondary* (distributed) query naming
// initialUser as its initial user — what a hostile native client can do
// (TESTBED.md: the server keeps that name for a login without an
// interserver secret, and currentUser() returns it). ch-go always sends
// "initial"; the connection rewrites that one byte of the Query packet on
// its way out. Queries without a QueryID are sent as they are.
func (c *ClickHouse) DialSecondary(ctx context.Context, user, initialUser string) (*SecondaryClient, error) {
	s := &SecondaryClient{initialUser: initialUser}
	opts := ch.Options{Address: c.Addr, DialTimeout: 10 * time.Second, User: user, Password: c.access.Users[user],
		Dialer: dialerFunc(func(ctx context.Context, network, addr string) (net.Conn, error) {
			var d net.Dialer
			conn, err := d.DialContext(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			return &rewritingConn{Conn: conn, owner: s}, nil
		})}
	client, err := ch.Dial(ctx, opts)
	if err != nil {
		return nil, fmt.Errorf("connect to the test bed's clickhouse at %s as %s: %w", c.Addr, user, err)
	}
	s.Client = client
	return s, nil
}

// SecondaryClient sends queries marked secondary; see DialSecondary.
type SecondaryClient struct {
	*ch.Client
	initialUser string
	mu          sync.Mutex
	queryID     string // the query whose packet is rewritten next
}

// Do sends q as a secondary query of initialUser; q.QueryID is set when
// empty.
func (s *SecondaryClient) Do(ctx context.Context, q ch.Query) error {
	if q.QueryID == "" {
		q.QueryID = fmt.Sprintf("secondary-%d", time.Now().UnixNano())
	}
	q.InitialUser = s.initialUser
	s.mu.Lock()
	s.queryID = q.QueryID
	s.mu.Unlock()
	return s.Client.Do(ctx, q)
}

type dialerFunc func(ctx context.Context, network, addr string) (net.Conn, error)

func (f dialerFunc) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	return f(ctx, network, addr)
}

type rewritingConn struct {
	net.Conn
	owner *SecondaryClient
}

// Write finds the Query packet of the pending query id (code 1, the id as
// a length-prefixed string, then ClientInfo's query kind byte) and turns
// its kind from initial (1) into secondary (2).
func (c *rewritingConn) Write(p []byte) (int, error) {
	c.owner.mu.Lock()
	id := c.owner.queryID
	c.owner.mu.Unlock()
	if id != "" {
		header := []byte{byte(proto.ClientCodeQuery)}
		header = binary.AppendUvarint(header, uint64(len(id)))
		header = append(header, id...)
		if i := bytes.Index(p, header); i >= 0 && i+len(header) < len(p) && p[i+len(header)] == byte(proto.ClientQueryInitial) {
			p = append([]byte(nil), p...)
			p[i+len(header)] = byte(proto.ClientQuerySecondary)
			c.owner.mu.Lock()
			c.owner.queryID = ""
			c.owner.mu.Unlock()
		}
	}
	return c.Conn.Write(p)
}
