package sidecar

import (
	"context"
	"sync"
	"time"
)

// versionFresh is how long a read of ClickHouse's version stands for the
// server's: the version is a property of the server, not of a database,
// and a round of a thousand databases reads it once instead of a thousand
// times. A server upgraded meanwhile restarts, which fails the BACKUPs it
// was running; a backup started within a minute after that may record the
// version from before (metadata clickhouse_version, for people only).
const versionFresh = time.Minute

// versionMemo keeps the newest read of ClickHouse's version.
type versionMemo struct {
	mu   sync.Mutex
	v    string
	read time.Time
}

// get is ClickHouse's version, read (read) again when the last read is
// versionFresh old at now. Backups running at once share one read.
func (m *versionMemo) get(ctx context.Context, now time.Time, read func(context.Context) (string, error)) (string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.v != "" && now.Sub(m.read) < versionFresh {
		return m.v, nil
	}
	v, err := read(ctx)
	if err != nil {
		return "", err
	}
	m.v, m.read = v, now
	return v, nil
}
