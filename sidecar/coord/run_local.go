package coord

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
)

// ProcessRun tells this process from any other run under the same holder
// name (Holder.Run): the one before a restart, or a twin. From S3 alone a
// run that stopped and a live twin look alike until the next beat, so a
// run of this name is watched (a lease for half its time to live, the
// heartbeat for 30 s) before its work is taken back. A run that was a
// process on this very kernel, in this PID namespace (a restart by
// systemd, by a supervisor, by a test) can be asked of the kernel instead:
// ProcessRun names that process (localRun), and runGoneHere tells at once
// whether it still exists. A run from another host, container or boot is
// watched as before.
var ProcessRun = uuid.NewString() + localRun()

// localRun is "@" and where this process is: the kernel's boot, the PID
// namespace, the pid and the process's start (in clock ticks since boot,
// so a pid used again is told apart); "" where /proc cannot say.
func localRun() string {
	here, ok := thisProcess()
	if !ok {
		return ""
	}
	return fmt.Sprintf("@%s/%s/%d/%d", here.boot, here.pidNS, here.pid, here.start)
}

// process is where a run's process was, as localRun writes it.
type process struct {
	boot, pidNS string
	pid         int
	start       uint64
}

// thisProcess reads where this process is; false when /proc does not
// answer, or answers for another PID namespace than this process's
// (a host's /proc mounted in a container).
func thisProcess() (process, bool) {
	boot, err := os.ReadFile("/proc/sys/kernel/random/boot_id")
	if err != nil {
		return process{}, false
	}
	ns, err := os.Readlink("/proc/self/ns/pid")
	if err != nil {
		return process{}, false
	}
	pid, start, err := readStat("self")
	if err != nil || pid != os.Getpid() {
		return process{}, false
	}
	return process{boot: strings.TrimSpace(string(boot)), pidNS: ns, pid: pid, start: start}, true
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

// markGoneHere remembers a run the kernel showed gone, so its other
// leases are taken back at once too (goneRuns).
func markGoneHere(gone string) { goneRuns.Store(gone, time.Now()) }

// runGoneHere reports whether run was a process of this kernel's boot and
// this PID namespace that no longer exists (its pid is free, or another
// process's, started at another time). false when that cannot be known:
// a run of another host, container or boot, of an older sidecar, or of a
// test (Claims.SetRun).
func runGoneHere(run string) bool {
	_, where, found := strings.Cut(run, "@")
	if !found {
		return false
	}
	parts := strings.Split(where, "/")
	if len(parts) != 4 {
		return false
	}
	pid, perr := strconv.Atoi(parts[2])
	start, serr := strconv.ParseUint(parts[3], 10, 64)
	here, ok := thisProcess()
	if perr != nil || serr != nil || !ok || parts[0] != here.boot || parts[1] != here.pidNS || pid <= 0 {
		return false
	}
	_, now, err := readStat(strconv.Itoa(pid))
	if errors.Is(err, fs.ErrNotExist) {
		return true
	}
	return err == nil && now != start
}
