package main

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// bucketVersions is what a versioned bucket holds under a prefix: the
// versions of each key, and the keys whose newest version is a delete
// marker.
type bucketVersions struct {
	versions map[string]int
	hidden   map[string]bool
}

func (h *harness) versions(prefix string) bucketVersions {
	h.t.Helper()
	out := bucketVersions{versions: map[string]int{}, hidden: map[string]bool{}}
	m := h.bed.MinIO
	pages := s3.NewListObjectVersionsPaginator(m.Client(), &s3.ListObjectVersionsInput{Bucket: aws.String(m.Bucket), Prefix: aws.String(prefix)})
	for pages.HasMorePages() {
		page, err := pages.NextPage(h.ctx)
		if err != nil {
			h.t.Fatalf("list the versions under %s: %v", prefix, err)
		}
		for _, v := range page.Versions {
			out.versions[aws.ToString(v.Key)]++
		}
		for _, d := range page.DeleteMarkers {
			if aws.ToBool(d.IsLatest) {
				out.hidden[aws.ToString(d.Key)] = true
			}
		}
	}
	return out
}

// shortenRetention sets the retention of every object under prefix to
// until, as an administrator may in governance mode (bypassing it).
func (h *harness) shortenRetention(prefix string, until time.Time) {
	h.t.Helper()
	m := h.bed.MinIO
	for _, key := range h.keys(prefix) {
		_, err := m.Client().PutObjectRetention(h.ctx, &s3.PutObjectRetentionInput{Bucket: aws.String(m.Bucket), Key: aws.String(key),
			BypassGovernanceRetention: aws.Bool(true),
			Retention:                 &types.ObjectLockRetention{Mode: types.ObjectLockRetentionModeGovernance, RetainUntilDate: aws.Time(until)}})
		if err != nil {
			h.t.Fatalf("shorten the retention of %s: %v", key, err)
		}
	}
}

// backupFolder is where a listed backup of shop is.
func backupFolder(b listedBackup) string {
	return fmt.Sprintf("cv/test/shop/%s/%s/", b.Kind, b.Name)
}

// lockedCleanupLine is what a cleanup says of a backup the lock keeps.
var lockedCleanupLine = regexp.MustCompile(`kept (full|incremental) backup (\S+) and every backup it is built on: ` +
	`the bucket's Object Lock \(GOVERNANCE\) keeps its objects until (\S+);`)

// TestLockedBucketDayOfBackups is issue 26's acceptance on a locked
// bucket: versioned, with Object Lock holding every version a day in
// governance mode. A compressed day of the schedule (the sidecar backing
// up every 2 s and starting a chain every 9 s, checks every 5 s, with
// `cleanup --dry-run` and `cleanup` between, as the timer runs them,
// keeping one chain) fails nothing and deletes nothing the lock holds:
// the cleanups say which backups the lock keeps and until when (a day
// after they were written), the dry run as well, and every backup stays
// listed with no delete marker on any of its objects, while the lease,
// claims and index, rewritten and deleted all along, keep working. Then
// check, verify and a restore of the newest backup work on it. Last, an
// administrator shortens the retention of the oldest chain: once it has
// passed, the dry run says it would delete that chain, the cleanup does,
// and the versions it hid are all still in the bucket (ClickVault never
// removes a version).
func TestLockedBucketDayOfBackups(t *testing.T) {
	opts := sidecarUsers
	opts.ObjectLockDays = 1
	h := newHarnessWith(t, opts)
	h.createShop(1000)
	addr := freeAddr(t)
	// The sidecar and the CLI's cleanups share one config, as on a host.
	h.config = h.writeConfig(fmt.Sprintf("[schedule]\nfull_every = \"9s\"\nincremental_every = \"2s\"\ncheck_every = \"5s\"\n"+
		"[retention]\nkeep_full_backups = 1\n[sidecar]\nlisten = %q\n", addr))
	p := h.startSidecar(h.config, addr)
	started := time.Now()
	for round := 1; round <= 4; round++ {
		h.addRows(1000*round, 100)
		h.waitScheduledBackups(3 * round)
		h.cleanupKeepsLocked(started)
	}
	if h.chains() < 3 {
		t.Fatalf("the schedule made %d chains, want at least 3 for the cleanups to want to delete some", h.chains())
	}
	h.sqlDryRunSaysWhatTheLockKeeps()
	if code := p.stop(t); code != 0 {
		t.Fatalf("the sidecar exited %d", code)
	}
	for _, state := range []string{"failed", "rejected"} {
		if n := h.count("SELECT count() FROM clickvault.request_status WHERE state = '" + state + "'"); n != 0 {
			t.Fatalf("%d scheduled requests %s on the locked bucket", n, state)
		}
	}
	if n := h.count("SELECT count() FROM clickvault.request_status WHERE state = 'succeeded' AND action = 'check'"); n == 0 {
		t.Fatal("no scheduled check succeeded on the locked bucket")
	}
	h.noBackupHidden()
	h.cleanupKeepsLocked(started) // no pin now: the lock, and only it, keeps every chain but the newest

	h.mustRun("backup")
	h.mustRun("check")
	h.mustRun("verify")
	h.mustRun("restore", "--target", "shop_copy")
	if got, want := h.fingerprint("shop_copy.orders"), h.fingerprint("shop.orders"); got != want {
		t.Fatalf("restored from the locked bucket: %+v, want %+v", got, want)
	}
	h.expireOldestChain()
}

// sqlDryRunSaysWhatTheLockKeeps: alice's cleanup dry run, a SQL request,
// answers what the lock keeps (asked again while a scheduled check's pin
// keeps everything, for then nothing is planned and the lock not asked).
func (h *harness) sqlDryRunSaysWhatTheLockKeeps() {
	h.t.Helper()
	alice := h.as("alice")
	deadline := time.Now().Add(time.Minute)
	for {
		id := h.request(alice, "action, database, dry_run", "'cleanup', 'shop', true")
		st := h.waitState(id, time.Minute, "succeeded", "failed", "rejected")
		switch {
		case st.state != "succeeded":
			h.t.Fatalf("alice's cleanup dry run on the locked bucket: %+v", st)
		case strings.Contains(st.message, "the bucket's Object Lock keeps ") && strings.Contains(st.message, "the last until "):
			return
		case !strings.Contains(st.message, "pinned by") || time.Now().After(deadline):
			h.t.Fatalf("alice's cleanup dry run does not say what the lock keeps: %q", st.message)
		}
	}
}

// waitScheduledBackups waits until the sidecar's schedule has made n backups.
func (h *harness) waitScheduledBackups(n int) {
	h.t.Helper()
	query := "SELECT count() FROM clickvault.request_status WHERE state = 'succeeded' AND action = 'backup' AND requested_by = '" + sidecarUser + "'"
	deadline := time.Now().Add(2 * time.Minute)
	for h.count(query) < uint64(n) {
		if time.Now().After(deadline) {
			h.t.Fatalf("the schedule made %d backups in two minutes, want %d", h.count(query), n)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func (h *harness) chains() int { return len(h.list()) }

// cleanupKeepsLocked runs `cleanup --dry-run` and `cleanup` while the lock
// holds every backup: both delete nothing, and say of each backup of the
// chains beyond the newest that the lock keeps it, until a day after the
// test began at the earliest (unless a check's pin keeps them all).
func (h *harness) cleanupKeepsLocked(started time.Time) {
	h.t.Helper()
	var past []string // the backups of every chain but the newest: each one a rule would delete
	for _, c := range h.list()[1:] {
		for _, b := range c.Backups {
			past = append(past, b.Name)
		}
	}
	for _, args := range [][]string{{"cleanup", "--dry-run"}, {"cleanup"}} {
		out := h.mustRun(args...).stdout
		if deleteLine.MatchString(out) {
			h.t.Fatalf("%v on a bucket that holds every backup deleted some:\n%s", args, out)
		}
		kept := map[string]bool{}
		for _, m := range lockedCleanupLine.FindAllStringSubmatch(out, -1) {
			until, err := time.Parse(time.RFC3339, m[3])
			if err != nil || until.Before(started.Add(24*time.Hour-time.Second)) {
				h.t.Fatalf("%v: the lock keeps %s until %q, want a day after it was written", args, m[2], m[3])
			}
			kept[m[2]] = true
		}
		if strings.Contains(out, ": pinned by ") {
			continue // a scheduled check pins what it reads: the cleanup planned nothing to ask the lock of
		}
		for _, name := range past {
			if !kept[name] {
				h.t.Fatalf("%v does not say the lock keeps backup %s:\n%s", args, name, out)
			}
		}
	}
}

// deleteLine is a line of cleanup's report on a backup it deleted or would delete.
var deleteLine = regexp.MustCompile(`(?m)^shop: (deleted|would delete) `)

// noBackupHidden fails the test if any object of a backup folder has a
// delete marker: nothing the lock holds was deleted. ClickHouse's own
// .lock, which it writes while a BACKUP runs and deletes at its end, is
// no part of a backup.
func (h *harness) noBackupHidden() {
	h.t.Helper()
	v := h.versions("cv/test/shop/")
	for key := range v.hidden {
		if isBackupObject(key) {
			h.t.Fatalf("an object of a backup the lock holds was deleted: %s", key)
		}
	}
	// The lease was taken, renewed and released all along: versions of it,
	// and a delete marker over them now.
	if lease := "cv/test/shop/.clickvault.lock"; v.versions[lease] < 2 || !v.hidden[lease] {
		h.t.Fatalf("the lease has %d versions, hidden %v; want several and released", v.versions[lease], v.hidden[lease])
	}
}

// isBackupObject reports whether key is an object of a backup folder
// (ClickHouse's .lock of a running BACKUP is not).
func isBackupObject(key string) bool {
	return (strings.Contains(key, "/full/") || strings.Contains(key, "/incremental/")) && !strings.HasSuffix(key, "/.lock")
}

// expireOldestChain shortens the retention of the oldest chain to a few
// seconds from now and, once that has passed, runs a dry run and a
// cleanup: they delete that chain and no other; its versions stay.
func (h *harness) expireOldestChain() {
	h.t.Helper()
	chains := h.list()
	oldest := chains[len(chains)-1]
	until := time.Now().Add(3 * time.Second).UTC()
	for _, b := range oldest.Backups {
		h.shortenRetention(backupFolder(b), until)
	}
	for time.Now().Before(until.Add(time.Second)) { // MinIO dates a retention to the second
		time.Sleep(100 * time.Millisecond)
	}
	before := h.versions("cv/test/shop/")
	dry := h.mustRun("cleanup", "--dry-run").stdout
	if len(deleteLine.FindAllString(dry, -1)) != len(oldest.Backups) || !strings.Contains(dry, "(chain "+oldest.Name+")") {
		h.t.Fatalf("dry run after the oldest chain's lock passed, want it (%d backups) to be deleted:\n%s", len(oldest.Backups), dry)
	}
	out := h.mustRun("cleanup").stdout
	if len(deleteLine.FindAllString(out, -1)) != len(oldest.Backups) || len(h.list()) != len(chains)-1 {
		h.t.Fatalf("cleanup after the oldest chain's lock passed:\n%s", out)
	}
	after := h.versions("cv/test/shop/")
	for key, n := range before.versions {
		if after.versions[key] < n {
			h.t.Fatalf("a version of %s was removed (%d left of %d)", key, after.versions[key], n)
		}
		inOldest := false
		for _, b := range oldest.Backups {
			inOldest = inOldest || strings.HasPrefix(key, backupFolder(b))
		}
		if isBackupObject(key) && after.hidden[key] != inOldest {
			h.t.Fatalf("%s: deleted %v, want %v (only the expired chain)", key, after.hidden[key], inOldest)
		}
	}
}
