package sidecar_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/clickvault/clickvault/sidecar"
	"github.com/clickvault/clickvault/sidecar/coord"
	"github.com/clickvault/clickvault/sidecar/model"
)

// TestCheckFindsAMissingObject: one data object of the second link of a
// five-link chain is deleted; check names it, marks links 2–5 broken and
// link 1 good, reads no data object, and keeps the result for the catalog;
// a new chain checks good.
func TestCheckFindsAMissingObject(t *testing.T) {
	e := newEngine(t, sidecar.Options{})
	ctx := context.Background()
	var links []model.Backup
	for i := 0; i < 5; i++ {
		e.db.Create("shop", map[string]uint64{"orders": uint64(10 + i), "items": 5})
		links = append(links, e.backup(t, ""))
	}
	if rep, err := e.Check(ctx, "shop", ""); err != nil || rep.Broken() != 0 || len(rep.Backups) != 5 {
		t.Fatalf("a sound chain: %v, %+v", err, rep)
	}
	victim := links[1].Folder + "data/shop/orders/all_1_1_0/data.bin"
	if err := e.store.Delete(ctx, []string{victim}); err != nil {
		t.Fatal(err)
	}
	e.store.ResetGets()
	rep, err := e.Check(ctx, "shop", "")
	if !errors.Is(err, model.ErrBroken) || !strings.Contains(err.Error(), victim) {
		t.Fatalf("check after the delete: %v", err)
	}
	// GETs: the catalog index and five manifests, then the check file
	// (read to merge); never a data object.
	if gets := e.store.ResetGets(); gets > 8 {
		t.Errorf("check made %d GETs; it must read manifests only", gets)
	}
	for i, b := range rep.Backups {
		want := model.CheckBroken
		if i == 0 {
			want = model.CheckGood
		}
		if b.Verdict != want {
			t.Errorf("link %d: %s (%s), want %s", i+1, b.Verdict, b.Problem, want)
		}
	}
	if !strings.Contains(rep.Backups[1].Problem, victim) || !strings.Contains(rep.Backups[4].Problem, "built on broken backup") {
		t.Errorf("problems: %q, %q", rep.Backups[1].Problem, rep.Backups[4].Problem)
	}
	results, err := e.Results(ctx, "shop")
	saved := results.Checks
	if err != nil || saved[links[0].Name].Verdict != model.CheckGood || saved[links[3].Name].Verdict != model.CheckBroken {
		t.Fatalf("saved results: %v, %+v", err, saved)
	}
	fresh := e.backup(t, model.KindFull)
	if rep, err := e.Check(ctx, "shop", fresh.Name); err != nil || len(rep.Backups) != 1 || rep.Backups[0].Verdict != model.CheckGood {
		t.Fatalf("the new chain: %v, %+v", err, rep)
	}
	// Both chains, one at a time: the old one still broken, the new good.
	rep, _ = e.Check(ctx, "shop", "")
	if len(rep.Backups) != 6 || rep.Broken() != 4 || rep.Backups[5].Backup.Name != fresh.Name || rep.Backups[5].Verdict != model.CheckGood {
		t.Fatalf("two chains: %d backups, %d broken", len(rep.Backups), rep.Broken())
	}
	if _, err := e.Check(ctx, "shop", "20200101T000000000Z"); !errors.Is(err, model.ErrBackupMissing) {
		t.Fatalf("check of a backup that does not exist: %v", err)
	}
}

// TestManifestFollowsTheBase: a file kept in the base is looked for there,
// a short object is named with both sizes, a missing manifest is broken.
func TestManifestFollowsTheBase(t *testing.T) {
	e := newEngine(t, sidecar.Options{})
	ctx := context.Background()
	full := e.backup(t, "")
	e.db.Create("shop", map[string]uint64{"orders": 11, "items": 5})
	inc := e.backup(t, "")
	items := full.Folder + "data/shop/items/all_1_1_0/data.bin"
	if _, err := e.store.Put(ctx, items, []byte("x"), coord.PutCondition{}); err != nil {
		t.Fatal(err)
	}
	rep, err := e.Check(ctx, "shop", inc.Name)
	if !errors.Is(err, model.ErrBroken) || !strings.Contains(rep.Backups[0].Problem, "has 1 bytes, the manifest says") {
		t.Fatalf("a short object in the base: %v, %+v", err, rep.Backups)
	}
	if rep.Backups[1].Verdict != model.CheckBroken {
		t.Fatalf("the incremental on it: %+v", rep.Backups[1])
	}
	if err := e.store.Delete(ctx, []string{coord.BackupFileKey(inc.Folder)}); err != nil {
		t.Fatal(err)
	}
	if rep, _ := e.Check(ctx, "shop", inc.Name); !strings.Contains(rep.Backups[1].Problem, "manifest) is missing") {
		t.Fatalf("a missing manifest: %+v", rep.Backups[1])
	}
	if _, err := model.ParseManifest([]byte("<config><contents><file><name>a</name><size>1</size><base_size>2</base_size></file></contents></config>")); err == nil {
		t.Error("a base_size over the size was accepted")
	}
	m, err := model.ParseManifest([]byte("<config><contents><file><name>a</name><size>3</size><checksum>c</checksum><use_base>true</use_base></file></contents></config>"))
	if err != nil || m.Files[0].BaseSize != 3 || m.Files[0].StoredSize() != 0 || m.Files[0].DataFile != "a" {
		t.Fatalf("use_base without base_size: %+v, %v", m, err)
	}
}

// deepChain backs shop up 20 times, one chain: items and zeta are the same
// in every link (kept in the first), orders changes; zeta's files come
// after orders' in a manifest.
func deepChain(t *testing.T, e *engine) []model.Backup {
	t.Helper()
	var links []model.Backup
	for i := range 20 {
		e.db.Create("shop", map[string]uint64{"orders": uint64(10 + i), "items": 5, "zeta": 7})
		links = append(links, e.backup(t, ""))
	}
	return links
}

// TestACheckHoldsAFewManifestsOfADeepChain (issue 27): each manifest lists
// every file of the database, and a check held every manifest of a chain
// at once (a chain of 42 links of 50,000 files: some 900 MB). It holds
// the window it reads ahead and the base of the link it checks; the
// verdicts stay those of a check that held them all: a file kept three
// links down is found, and a link built on a broken one is broken.
func TestACheckHoldsAFewManifestsOfADeepChain(t *testing.T) {
	e := newEngine(t, sidecar.Options{})
	ctx := context.Background()
	links := deepChain(t, e)
	peak, err := sidecar.PeakManifestsOfACheck(ctx, e.Service, "shop")
	if err != nil {
		t.Fatal(err)
	}
	if peak > 6 {
		t.Errorf("a check of a chain of %d links held %d manifests at once, want a window of 4 and a base", len(links), peak)
	}
	victim := links[12].Folder + "data/shop/orders/all_1_1_0/data.bin"
	if err := e.store.Delete(ctx, []string{victim}); err != nil {
		t.Fatal(err)
	}
	e.store.ResetGets()
	rep, err := e.Check(ctx, "shop", "")
	if !errors.Is(err, model.ErrBroken) || rep.Broken() != 8 {
		t.Fatalf("check with link 13's object gone: %v, %d broken, want the 8 links from it", err, rep.Broken())
	}
	if !strings.Contains(rep.Backups[12].Problem, victim) || !strings.Contains(rep.Backups[19].Problem, "built on broken backup") ||
		rep.Backups[11].Verdict != model.CheckGood {
		t.Errorf("verdicts: link 12 %s, link 13 %q, link 20 %q", rep.Backups[11].Verdict, rep.Backups[12].Problem, rep.Backups[19].Problem)
	}
	// The catalog index, each manifest once, the check file: no manifest
	// dropped was read again (link 14 finds its zeta in link 13's
	// verdicts, judged past link 13's broken orders).
	if gets := e.store.ResetGets(); gets > len(links)+3 {
		t.Errorf("check made %d GETs for %d links; each manifest is read once", gets, len(links))
	}
}

// TestRestorePlansAndVerifiesHoldAFewManifestsOfADeepChain (issue 27): a
// restore's plan reads the tables' definitions, and verify the parts' row
// counts, each found down the chain in the link that keeps it; both read
// every manifest under the backup first and held them all. They hold a
// window of them, and find what is kept twenty links down: items and zeta
// never change, so their files are all in the full.
func TestRestorePlansAndVerifiesHoldAFewManifestsOfADeepChain(t *testing.T) {
	e := newEngine(t, sidecar.Options{})
	ctx := context.Background()
	last := deepChain(t, e)[19]
	defs, counts, err := sidecar.PeakManifestsOfReads(ctx, e.Service, "shop", last.Name)
	if err != nil {
		t.Fatal(err)
	}
	if defs > 5 || counts > 5 {
		t.Errorf("reads under link 20 held %d manifests (definitions) and %d (row counts) at once, want a window of 4 and the link's own",
			defs, counts)
	}
	v, err := e.Verify(ctx, "shop", last.Name, nil)
	if err != nil || v.Mismatches != 0 || len(v.Tables) != 3 {
		t.Fatalf("verify of link 20: %v, %+v", err, v.Tables)
	}
	for _, tb := range v.Tables {
		if want := map[string]uint64{"orders": 29, "items": 5, "zeta": 7}[tb.Table]; tb.Expected != want || !tb.FromParts {
			t.Errorf("verify of link 20, table %s: %d rows expected from the parts (%v), want %d", tb.Table, tb.Expected, tb.FromParts, want)
		}
	}
	res, err := e.Restore(ctx, sidecar.RestoreRequest{Database: "shop", Target: "shop_copy"})
	if err != nil || res.Tables["zeta"] != 7 || res.Tables["orders"] != 29 {
		t.Fatalf("restore of link 20: %v, %+v", err, res.Tables)
	}
}

// TestAChainCheckReadsOnlyTheManifestsOfLinksItCannotTrust (issue 27): a
// backup checks the chain it builds on, and a restore the one it reads;
// a link whose listing matches the summary recorded when it completed is
// sound unread, and one that does not has its manifest read. Following
// that link's files into its bases read every manifest under it, sound
// ones too, and held them all. Only the links not trusted are read, and a
// link under them that lost an object is still found.
func TestAChainCheckReadsOnlyTheManifestsOfLinksItCannotTrust(t *testing.T) {
	e := newEngine(t, sidecar.Options{})
	ctx := context.Background()
	links := deepChain(t, e)
	last := links[19]
	// An object ClickHouse did not write: the listing no longer matches.
	if _, err := e.store.Put(ctx, last.Folder+"stray", []byte("x"), coord.PutCondition{}); err != nil {
		t.Fatal(err)
	}
	problem, peak, err := sidecar.PeakManifestsOfAChainCheck(ctx, e.Service, "shop", last.Name)
	if err != nil || problem != "" {
		t.Fatalf("chain under a link with a stray object: %q, %v; want sound", problem, err)
	}
	if peak > 2 {
		t.Errorf("the check read %d manifests; want link 20's and its base's alone (the links under it match their summaries)", peak)
	}
	// Link 20's manifest says a file is kept in its base with a checksum the
	// base does not list: check calls it broken, and so must this.
	manifest, _, err := e.store.Get(ctx, last.Folder+".backup")
	if err != nil {
		t.Fatal(err)
	}
	// Its first file (items' definition) is kept whole in the base, found
	// there by its checksum (use_base without base_size).
	at := strings.Index(string(manifest), "<checksum>") + len("<checksum>")
	if !strings.Contains(string(manifest[:strings.Index(string(manifest), "</file>")]), "<use_base>true</use_base>") {
		t.Fatalf("link 20's first file is not kept in its base:\n%s", manifest)
	}
	tampered := slices.Clone(manifest)
	tampered[at] ^= 1
	if _, err := e.store.Put(ctx, last.Folder+".backup", tampered, coord.PutCondition{}); err != nil {
		t.Fatal(err)
	}
	problem, _, err = sidecar.PeakManifestsOfAChainCheck(ctx, e.Service, "shop", last.Name)
	if err != nil || !strings.Contains(problem, "whose manifest does not list it") {
		t.Fatalf("a base entry its base does not list: %q, %v", problem, err)
	}
	if _, err := e.store.Put(ctx, last.Folder+".backup", manifest, coord.PutCondition{}); err != nil {
		t.Fatal(err)
	}
	victim := links[4].Folder + "data/shop/orders/all_1_1_0/data.bin"
	if err := e.store.Delete(ctx, []string{victim}); err != nil {
		t.Fatal(err)
	}
	problem, _, err = sidecar.PeakManifestsOfAChainCheck(ctx, e.Service, "shop", last.Name)
	if err != nil || !strings.Contains(problem, victim) {
		t.Fatalf("chain under link 20 with an object of link 5 gone: %q, %v; want it named", problem, err)
	}
}
