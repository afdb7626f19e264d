package main

import (
	"testing"
	"time"

	"github.com/ClickHouse/ch-go"
	"github.com/ClickHouse/ch-go/proto"
)

// TestJoinUseNullsInProfiles: with join_use_nulls = 1 in every profile
// (the sidecar's and the requester's), an unanswered request still reads
// as pending and is picked up: the control plane's joins do not depend on
// the profile.
func TestJoinUseNullsInProfiles(t *testing.T) {
	opts := sidecarUsers
	opts.Settings = map[string]string{"join_use_nulls": "1"}
	h := newHarnessWith(t, opts)
	h.createShop(10)
	addr := freeAddr(t)
	p := h.startSidecar(h.sidecarConfig(addr, ""), addr)
	p.stop(t)
	id := h.request(h.as("alice"), "action, database", "'backup', 'shop'")
	var state proto.ColStr
	if err := h.as("alice").Do(h.ctx, ch.Query{Body: "SELECT state FROM clickvault.request_status WHERE id = '" + id + "'",
		Result: proto.ResultColumn{Name: "state", Data: &state}}); err != nil || state.Rows() != 1 || state.Row(0) != "pending" {
		t.Fatalf("request_status of an unseen request with join_use_nulls = 1: %v %v; want pending", state, err)
	}
	h.startSidecar(p.config, addr)
	if st := h.waitState(id, time.Minute, "succeeded", "failed", "rejected"); st.state != "succeeded" {
		t.Fatalf("a backup with join_use_nulls = 1: %+v", st)
	}
}
