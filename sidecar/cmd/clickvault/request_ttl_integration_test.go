package main

import (
	"strconv"
	"strings"
	"testing"

	"github.com/ClickHouse/ch-go"
	"github.com/ClickHouse/ch-go/proto"
)

// TestRequestRetentionIsConfigured (issue 23, intake): requests and
// request_log expire after sidecar.request_retention_days, set as the
// tables' TTL when serve starts (and changed by a later start).
func TestRequestRetentionIsConfigured(t *testing.T) {
	h := newHarnessWith(t, sidecarUsers)
	h.createShop(10)
	addr := freeAddr(t)
	p := h.startSidecar(h.sidecarConfig(addr, "request_retention_days = 7"), addr)
	h.requireTTL(7)
	p.stop(t)
	h.startSidecar(h.sidecarConfig(addr, "request_retention_days = 30"), addr)
	h.requireTTL(30)
}

func (h *harness) requireTTL(days int) {
	h.t.Helper()
	for _, table := range []string{"requests", "request_log"} {
		var create proto.ColStr
		if err := h.ch.Do(h.ctx, ch.Query{Body: "SELECT create_table_query AS q FROM system.tables WHERE database = 'clickvault' AND name = '" + table + "'",
			Result: proto.ResultColumn{Name: "q", Data: &create}}); err != nil || create.Rows() != 1 {
			h.t.Fatalf("read clickvault.%s: %v", table, err)
		}
		want := "TTL "
		if q := create.Row(0); !strings.Contains(q, want) || !strings.Contains(q, "toIntervalDay("+strconv.Itoa(days)+")") {
			h.t.Fatalf("clickvault.%s keeps rows other than %d days:\n%s", table, days, q)
		}
	}
}
