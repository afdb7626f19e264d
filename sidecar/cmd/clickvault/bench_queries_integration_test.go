//go:build bench

package main

import (
	"fmt"
	"strings"

	"github.com/ClickHouse/ch-go"
	"github.com/ClickHouse/ch-go/proto"
)

// What the many-databases benchmark asks ClickHouse about a round: its
// queries by kind and cost, and its counters.

// queryKinds names the commonest kinds of query in the query log rows
// where says, with their counts.
func (h *harness) queryKinds(where string) string {
	var kinds proto.ColStr
	q := `SELECT concat(toString(count()), ' × ', substring(replaceRegexpAll(any(query), '\s+', ' '), 1, 40))
		FROM system.query_log WHERE ` + where + ` GROUP BY normalizedQueryHash(query) ORDER BY count() DESC LIMIT 8`
	if err := h.ch.Do(h.ctx, ch.Query{Body: q, Result: proto.ResultColumn{Data: &kinds}}); err != nil {
		h.t.Fatal(err)
	}
	var out []string
	for i := 0; i < kinds.Rows(); i++ {
		out = append(out, kinds.Row(i))
	}
	return strings.Join(out, "; ")
}

// serverEvents reads ClickHouse's counters of queries and merges.
func (h *harness) serverEvents() map[string]uint64 {
	out := map[string]uint64{}
	for _, e := range []string{"Query", "SelectQuery", "InsertQuery", "Merge", "MergesTimeMilliseconds"} {
		out[e] = h.count("SELECT sum(value) FROM system.events WHERE event = '" + e + "'")
	}
	return out
}

// queryCosts names the kinds of query in the query log rows where says
// that cost ClickHouse the most CPU, with their counts and CPU, and the
// merges of the control tables' parts since since (µs).
func (h *harness) queryCosts(where string, since uint64) string {
	var kinds proto.ColStr
	q := `SELECT concat(toString(count()), ' × ', substring(replaceRegexpAll(any(query), '\s+', ' '), 1, 40), ': ',
			toString(round(sum(ProfileEvents['OSCPUVirtualTimeMicroseconds']) / 1e6, 2)), ' s CPU')
		FROM system.query_log WHERE ` + where + ` GROUP BY normalizedQueryHash(query)
		ORDER BY sum(ProfileEvents['OSCPUVirtualTimeMicroseconds']) DESC LIMIT 10`
	if err := h.ch.Do(h.ctx, ch.Query{Body: q, Result: proto.ResultColumn{Data: &kinds}}); err != nil {
		h.t.Fatal(err)
	}
	var out []string
	for i := 0; i < kinds.Rows(); i++ {
		out = append(out, kinds.Row(i))
	}
	if h.count("SELECT count() FROM system.tables WHERE database = 'system' AND name = 'part_log'") == 0 {
		return strings.Join(out, "; ") + "; (no system.part_log: merges not counted)"
	}
	h.exec("SYSTEM FLUSH LOGS part_log")
	merges := h.textAs(h.ch, fmt.Sprintf(`SELECT concat(toString(countIf(event_type = 'NewPart')), ' new parts, ',
		toString(countIf(event_type = 'MergeParts')), ' merges taking ', toString(round(sumIf(duration_ms, event_type = 'MergeParts') / 1e3, 2)), ' s')
		FROM system.part_log WHERE database = 'clickvault' AND toUnixTimestamp64Micro(event_time_microseconds) >= %d`, since))
	return strings.Join(out, "; ") + "; the control tables: " + merges
}
