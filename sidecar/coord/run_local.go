package coord

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/google/uuid"
)

// ProcessRun tells this process from any other run under the same holder
// name (Holder.Run): the one before a restart, or a twin. From S3 alone a
// run that stopped and a live twin look alike until the next beat, so a
// run of this name is watched (a lease for half its time to live, the
// heartbeat for 30 s) before its work is taken back. A run that was a
// process of this very machine (a restart by systemd, a supervisor, a
// test) can be asked of the kernel instead: ProcessRun names where its
// process is (localRun), a sidecar leaves a mark of its run on this
// machine (MarkRunHere), and runGoneHere tells at once whether a marked
// run's process still exists. A run from another host, container, clone
// or boot is watched as before.
var ProcessRun = uuid.NewString() + localRun()

// localRun is "@", a digest of the kernel's boot and this process's PID
// and time namespaces (a process of another is never looked up here, and
// the digest tells nothing of this host), the pid and the process's start
// (in clock ticks since boot, so a pid used again is told apart); "" where
// /proc cannot say.
func localRun() string {
	here, ok := thisProcess()
	if !ok {
		return ""
	}
	return fmt.Sprintf("@%s/%d/%d", here.place, here.pid, here.start)
}

// process is where a run's process was, as localRun writes it.
type process struct {
	place string // digest of the boot id and the PID and time namespaces
	pid   int
	start uint64
}

// thisProcess reads where this process is; false when /proc does not
// answer, answers for another PID namespace than this process's (a host's
// /proc mounted in a container), or hides other users' processes (hidepid:
// one hidden would look gone).
func thisProcess() (process, bool) {
	boot, err := os.ReadFile("/proc/sys/kernel/random/boot_id")
	if err != nil || procHidesProcesses() {
		return process{}, false
	}
	pidNS, err := os.Readlink("/proc/self/ns/pid")
	if err != nil {
		return process{}, false
	}
	timeNS, _ := os.Readlink("/proc/self/ns/time") // absent before Linux 5.6, which has no time namespaces
	pid, start, err := readStat("self")
	if err != nil || pid != os.Getpid() {
		return process{}, false
	}
	sum := sha256.Sum256([]byte(strings.TrimSpace(string(boot)) + "/" + pidNS + "/" + timeNS))
	return process{place: hex.EncodeToString(sum[:8]), pid: pid, start: start}, true
}

// procHidesProcesses reports whether /proc is mounted with hidepid (or
// systemd's ProtectProc), which makes another user's process look absent.
func procHidesProcesses() bool {
	data, err := os.ReadFile("/proc/self/mounts")
	return err != nil || mountsHideProcesses(data)
}

// mountsHideProcesses reads /proc/self/mounts for a proc mount at /proc
// with hidepid on.
func mountsHideProcesses(data []byte) bool {
	lines := bufio.NewScanner(bytes.NewReader(data))
	for lines.Scan() {
		f := strings.Fields(lines.Text())
		if len(f) < 4 || f[1] != "/proc" || f[2] != "proc" {
			continue
		}
		for _, opt := range strings.Split(f[3], ",") {
			if v, ok := strings.CutPrefix(opt, "hidepid="); ok && v != "0" && v != "off" {
				return true
			}
		}
	}
	return false
}

// readStat reads a process's pid and start time from /proc/{which}/stat.
func readStat(which string) (pid int, start uint64, err error) {
	data, err := os.ReadFile("/proc/" + which + "/stat") //nolint:gosec // which is "self" or a pid: a file of /proc
	if err != nil {
		return 0, 0, err
	}
	return parseStat(which, string(data))
}

// parseStat reads "pid (comm) state ppid …": comm may hold spaces and
// parentheses, so the fields are counted after the last ')'; starttime is
// the 22nd.
func parseStat(which, s string) (pid int, start uint64, err error) {
	open, end := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
	if open < 1 || end < open {
		return 0, 0, fmt.Errorf("read /proc/%s/stat: no command in %q", which, s)
	}
	fields := strings.Fields(s[end+1:])
	if len(fields) < 20 {
		return 0, 0, fmt.Errorf("read /proc/%s/stat: %d fields after the command", which, len(fields))
	}
	if pid, err = strconv.Atoi(strings.TrimSpace(s[:open])); err != nil {
		return 0, 0, fmt.Errorf("read /proc/%s/stat: pid: %w", which, err)
	}
	if start, err = strconv.ParseUint(fields[19], 10, 64); err != nil {
		return 0, 0, fmt.Errorf("read /proc/%s/stat: start time: %w", which, err)
	}
	return pid, start, nil
}

// marksDir is where a sidecar marks its run on this machine: a machine
// cloned from a snapshot shares the boot id, and a run of the clone must
// not be looked up here; its mark is not here. Under systemd it is the
// unit's RuntimeDirectory (kept across restarts by
// RuntimeDirectoryPreserve=restart), as a PrivateTmp is emptied when the
// service stops; elsewhere the temporary directory.
func marksDir() string {
	if dir, _, _ := strings.Cut(os.Getenv("RUNTIME_DIRECTORY"), ":"); filepath.IsAbs(dir) {
		return filepath.Join(dir, "runs")
	}
	return filepath.Join(os.TempDir(), "clickvault-runs")
}

// ownMarksDir is marksDir, made if absent, once it is a directory of this
// process's user that no one else may write: in a shared temporary
// directory another user could have put a symlink or a folder of their
// own there, to have marks made, read or removed where they chose.
func ownMarksDir() (string, error) {
	dir := marksDir()
	if err := os.Mkdir(dir, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
		return "", fmt.Errorf("make %s: %w", dir, err)
	}
	info, err := os.Lstat(dir)
	if err != nil {
		return "", fmt.Errorf("look at %s: %w", dir, err)
	}
	st, ok := info.Sys().(*syscall.Stat_t)
	if !info.IsDir() || !ok || int(st.Uid) != os.Getuid() || info.Mode().Perm()&0o022 != 0 {
		return "", fmt.Errorf("%s is not a directory of this user that only it may write: not used", dir)
	}
	return dir, nil
}

// markAge is how long a mark is kept after its run's last heartbeat
// touched it (touchMark): a run gone that long has been judged gone by
// watching long since.
const markAge = 24 * time.Hour

// MarkRunHere marks this process's run on this machine, so a later run of
// its name here may ask the kernel whether it is gone (runGoneHere); it
// removes marks untouched for a day. A sidecar calls it as it starts;
// without it (a failure is only logged by the caller) its run is watched
// as before.
func MarkRunHere() error {
	id, _, found := strings.Cut(ProcessRun, "@")
	if !found {
		return nil // /proc cannot tell this process: nothing a mark would serve
	}
	dir, err := ownMarksDir()
	if err != nil {
		return fmt.Errorf("mark this run on this machine: %w", err)
	}
	if entries, err := os.ReadDir(dir); err == nil {
		for _, e := range entries {
			if info, err := e.Info(); err == nil && time.Since(info.ModTime()) > markAge {
				_ = os.Remove(filepath.Join(dir, e.Name())) // a mark left: the next start tries again
			}
		}
	}
	if err := os.WriteFile(filepath.Join(dir, id), nil, 0o600); err != nil {
		return fmt.Errorf("mark this run on this machine: %w", err)
	}
	return nil
}

// touchMark keeps this run's mark, if it has one, from being taken for a
// day old while the run lives: each heartbeat touches it.
func touchMark() {
	id, _, found := strings.Cut(ProcessRun, "@")
	dir, err := ownMarksDir()
	if !found || err != nil {
		return
	}
	now := time.Now()
	_ = os.Chtimes(filepath.Join(dir, id), now, now) // no mark (a CLI run, a test): nothing to keep
}

// markGoneHere remembers a run the kernel showed gone, so its other
// leases are taken back at once too (goneRuns).
func markGoneHere(gone string) { goneRuns.Store(gone, time.Now()) }

// runGoneHere reports whether run was a process of this machine's boot,
// PID and time namespaces, marked here, that no longer exists (its pid is
// free, or another process's, started at another time). false when that
// cannot be known: a run of another host, container, clone or boot, of an
// older sidecar, of a test (Claims.SetRun), or one left unmarked.
func runGoneHere(run string) bool {
	id, where, found := strings.Cut(run, "@")
	parts := strings.Split(where, "/")
	if !found || len(parts) != 3 || uuid.Validate(id) != nil {
		return false
	}
	pid, perr := strconv.Atoi(parts[1])
	start, serr := strconv.ParseUint(parts[2], 10, 64)
	here, ok := thisProcess()
	if perr != nil || serr != nil || !ok || parts[0] != here.place || pid <= 0 {
		return false
	}
	dir, err := ownMarksDir()
	if err != nil {
		return false
	}
	if info, err := os.Lstat(filepath.Join(dir, id)); err != nil || !info.Mode().IsRegular() {
		return false // not marked on this machine: a clone's, or never marked
	}
	_, now, err := readStat(strconv.Itoa(pid))
	if errors.Is(err, fs.ErrNotExist) {
		return true
	}
	return err == nil && now != start
}
