package controltest

import (
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/clickvault/clickvault/sidecar/control"
	"github.com/clickvault/clickvault/sidecar/model"
)

// testInsertRequestSigned: InsertRequest inserts as the sidecar's own login
// with kind auto by default, keeps a given id or makes one, and signs the
// row as it is read back (as_of to the millisecond), so the runner's proof
// check passes on it.
func testInsertRequestSigned(t *testing.T, p Plane) {
	ctx := ctxOf(t)
	asOf := time.Date(2026, 3, 4, 5, 6, 7, 891234567, time.UTC)
	made, err := p.InsertRequest(ctx, control.Request{Action: control.ActionRestore, Database: "shop", AsOf: &asOf,
		Via: "http:0a1b2c3d", Tables: []string{"orders"}, Consumers: "skip", Shard: 2, Source: "dr"})
	if err != nil {
		t.Fatalf("InsertRequest: %v", err)
	}
	given := uuid.NewString()
	if id, err := p.InsertRequest(ctx, control.Request{ID: given, Action: control.ActionBackup, Database: "shop"}); err != nil || id != given {
		t.Fatalf("InsertRequest with id %s: %s, %v", given, id, err)
	}
	if !control.CanonicalID(made) {
		t.Fatalf("InsertRequest made id %q, not a UUID", made)
	}
	rs := pending(t, p, longAgo())
	for _, id := range []string{made, given} {
		r, ok := byID(rs, id)
		if !ok {
			t.Fatalf("request %s is not pending", id)
		}
		if r.RequestedBy != OwnUser || r.Kind != "auto" {
			t.Errorf("request %s: requested_by %q, kind %q; want %q and auto", id, r.RequestedBy, r.Kind, OwnUser)
		}
		unsigned := written(r.Request)
		unsigned.RequestedBy, unsigned.Proof = "", ""
		if want := control.Sign(ProofKey, unsigned, OwnUser); r.Proof != want {
			t.Errorf("request %s: proof %q does not check out on the row read back (want %q)", id, r.Proof, want)
		}
	}
	if r, _ := byID(rs, made); r.AsOf == nil || !r.AsOf.Equal(asOf.Truncate(time.Millisecond)) {
		t.Errorf("as_of read back %v; want %v", r.AsOf, asOf.Truncate(time.Millisecond))
	}
}

// testInsertFacts: the query log's facts of a requester's INSERT: logged,
// by that login alone, a direct Insert into requests, no view fired; an id
// the log lacks is absent.
func testInsertFacts(t *testing.T, p Plane) {
	since := time.Now()
	id := insertAs(t, p, "alice", control.Request{})[0]
	r, ok := byID(pending(t, p, longAgo()), id)
	if !ok {
		t.Fatalf("request %s is not pending", id)
	}
	facts, err := p.InsertFacts(ctxOf(t), []string{r.QueryID, "no-such-query"}, since)
	if err != nil {
		t.Fatalf("InsertFacts: %v", err)
	}
	if _, ok := facts["no-such-query"]; ok {
		t.Error("facts of a query the log does not have")
	}
	f, ok := facts[r.QueryID]
	if !ok || f.ByLogin == nil {
		t.Fatalf("the log has no facts of alice's INSERT %s: %+v", r.QueryID, facts)
	}
	alice := f.ByLogin["alice"]
	alice.ViewsFired = nilIfEmpty(alice.ViewsFired)
	f.ByLogin["alice"], f.ViewsIntoRequests = alice, nilIfEmpty(f.ViewsIntoRequests)
	want := control.InsertFacts{QueryID: r.QueryID, ViewsLogged: true, ByLogin: map[string]control.LoginFacts{
		"alice": {Users: []string{"alice"}, Kinds: []string{"Insert"}, WroteRequests: true}}}
	if !reflect.DeepEqual(f, want) {
		t.Errorf("facts of alice's INSERT\n%+v\nwant\n%+v", f, want)
	}
}

func nilIfEmpty(l []string) []string {
	if len(l) == 0 {
		return nil
	}
	return l
}

// catalogRow is a backups row with every field set, times with
// nanoseconds as Go's clock gives them.
func catalogRow(database, name string, status model.CatalogStatus) control.CatalogRow {
	t := time.Date(2026, 1, 2, 3, 4, 5, 678912345, time.UTC)
	later := t.Add(time.Minute)
	return control.CatalogRow{Database: database, Name: name, Kind: "full", Chain: name, Location: "s3://b/" + name,
		Status: status, BackupID: uuid.NewString(), StartedAt: &t, FinishedAt: &later, NumFiles: 4, TotalSize: 100,
		UncompressedSize: 300, CompressedSize: 90, TableSet: "all tables", Tables: map[string]uint64{"orders": 10},
		TableBytes: map[string]uint64{"orders": 80}, CheckedAt: &later, CheckVerdict: "good", VerifiedAt: &later,
		VerifyVerdict: "passed", VerifyRestoreSec: 1.5, Copies: []string{"dr", "near"}}
}

// stored is a catalog row as read back: times to the millisecond in UTC,
// maps never nil.
func stored(r control.CatalogRow) control.CatalogRow {
	for _, tp := range []**time.Time{&r.StartedAt, &r.FinishedAt, &r.CheckedAt, &r.VerifiedAt} {
		if *tp != nil {
			v := (*tp).UTC().Truncate(time.Millisecond)
			*tp = &v
		}
	}
	if r.Tables == nil {
		r.Tables = map[string]uint64{}
	}
	if r.TableBytes == nil {
		r.TableBytes = map[string]uint64{}
	}
	if r.Copies == nil {
		r.Copies = []string{}
	}
	return r
}

// testCatalog: the backups table gives back the rows of one database, by
// name, every field as written (times to the millisecond, maps empty
// rather than nil, so they read as {} in JSON; copies [] rather than nil).
func testCatalog(t *testing.T, p Plane) {
	ctx := ctxOf(t)
	b, a := catalogRow("shop", "20260102T000000000Z", "completed"), catalogRow("shop", "20260101T000000000Z", "completed")
	bare := control.CatalogRow{Database: "shop", Name: "20260103T000000000Z", Kind: "incremental", Status: "running"}
	if err := p.WriteCatalog(ctx, []control.CatalogRow{b, a, bare, catalogRow("other", "20260101T000000000Z", "failed")}); err != nil {
		t.Fatalf("WriteCatalog: %v", err)
	}
	rows, err := p.CatalogRows(ctx, "shop")
	if err != nil {
		t.Fatalf("CatalogRows: %v", err)
	}
	want := []control.CatalogRow{stored(a), stored(b), stored(bare)}
	if !reflect.DeepEqual(rows, want) {
		t.Errorf("catalog of shop\n%+v\nwant\n%+v", rows, want)
	}
}

// testCatalogNewestWins: a row written again for the same database and
// name replaces the earlier one (ReplacingMergeTree read FINAL).
func testCatalogNewestWins(t *testing.T, p Plane) {
	ctx := ctxOf(t)
	first, second := catalogRow("shop", "20260101T000000000Z", "running"), catalogRow("shop", "20260101T000000000Z", "completed")
	second.NumFiles = 9
	for _, r := range []control.CatalogRow{first, second} {
		if err := p.WriteCatalog(ctx, []control.CatalogRow{r}); err != nil {
			t.Fatalf("WriteCatalog: %v", err)
		}
	}
	rows, err := p.CatalogRows(ctx, "shop")
	if err != nil {
		t.Fatalf("CatalogRows: %v", err)
	}
	if len(rows) != 1 || !reflect.DeepEqual(rows[0], stored(second)) {
		t.Errorf("catalog after two writes of one backup: %+v; want only the second", rows)
	}
	if !slices.ContainsFunc(rows, func(r control.CatalogRow) bool { return r.Status == model.CatalogCompleted }) {
		t.Error("the newer row did not win")
	}
}
