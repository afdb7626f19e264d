package coord

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/google/uuid"
)

// marksHereOnly keeps the test's marks in a temporary folder of its own,
// not where a sidecar of this machine keeps its own.
func marksHereOnly(t *testing.T) {
	t.Helper()
	t.Setenv("RUNTIME_DIRECTORY", "")
	t.Setenv("TMPDIR", t.TempDir())
}

// markedRun is a run of the process pid started at start, in place, marked
// on this machine unless unmarked.
func markedRun(t *testing.T, place string, pid int, start uint64, marked bool) string {
	t.Helper()
	id := uuid.NewString()
	if marked {
		dir, err := ownMarksDir()
		if err != nil {
			t.Fatal(err)
		}
		mark := filepath.Join(dir, id)
		if err := os.WriteFile(mark, nil, 0o600); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = os.Remove(mark) })
	}
	return fmt.Sprintf("%s@%s/%d/%d", id, place, pid, start)
}

// TestARunIsGoneHereOnlyWhenTheKernelSaysSo: a marked run of a process of
// this machine that exited is gone at once; this process's own run, one of
// a live process, one of another boot or namespaces, one not marked here
// (a clone's), one whose pid now names a process started at another time
// aside, and a run without a place (another host's, an older sidecar's,
// a test's) are not known gone.
func TestARunIsGoneHereOnlyWhenTheKernelSaysSo(t *testing.T) {
	marksHereOnly(t)
	here, ok := thisProcess()
	if !ok {
		t.Fatal("/proc does not say where this process is: the test needs Linux's /proc, without hidepid")
	}
	if err := MarkRunHere(); err != nil || !strings.Contains(ProcessRun, "@") {
		t.Fatalf("ProcessRun %q, marked: %v", ProcessRun, err)
	}
	child := exec.Command("sleep", "30")
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = child.Process.Kill(); _ = child.Wait() })
	pid, start, err := readStat(strconv.Itoa(child.Process.Pid))
	if err != nil {
		t.Fatal(err)
	}
	childRun := markedRun(t, here.place, pid, start, true)
	unmarked := markedRun(t, here.place, pid, start, false)
	alive := map[string]string{
		"this process":                   ProcessRun,
		"a live process":                 childRun,
		"another boot or namespace":      markedRun(t, "0123456789abcdef", 999999, 1, true),
		"a run without its place":        uuid.NewString(),
		"a test's run":                   "twin-" + uuid.NewString(),
		"a run with a place and no uuid": fmt.Sprintf("x@%s/%d/%d", here.place, 999999, 1),
	}
	for what, r := range alive {
		if runGoneHere(r) {
			t.Errorf("%s (%s) judged gone", what, r)
		}
	}
	if !runGoneHere(markedRun(t, here.place, os.Getpid(), here.start+1, true)) {
		t.Error("a run whose pid now names this process, started at another time, not judged gone")
	}
	if err := child.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = child.Wait() // reaped: its pid is free
	if !runGoneHere(childRun) {
		t.Errorf("the run of a process that exited (%s) not judged gone", childRun)
	}
	if runGoneHere(unmarked) {
		t.Errorf("a run of a process that exited, not marked on this machine (a clone's), judged gone")
	}
}

// TestStatOfACommandWithParentheses: a command name may hold spaces and
// parentheses; the fields are counted after the last one.
func TestStatOfACommandWithParentheses(t *testing.T) {
	stat := "4242 (a) b (c)) S 1 4242 4242 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 987654 1000 10"
	if pid, start, err := parseStat("4242", stat); err != nil || pid != 4242 || start != 987654 {
		t.Fatalf("parseStat = %d, %d, %v; want 4242, 987654", pid, start, err)
	}
	if pid, start, err := readStat("self"); err != nil || pid != os.Getpid() || start == 0 {
		t.Fatalf("readStat(self) = %d, %d, %v", pid, start, err)
	}
}

// TestHidepidTurnsTheKernelsWordOff: with hidepid, another user's live
// process looks absent, so /proc mounted so is not asked.
func TestHidepidTurnsTheKernelsWordOff(t *testing.T) {
	for mounts, hides := range map[string]bool{
		"proc /proc proc rw,relatime 0 0\n":                                   false,
		"proc /proc proc rw,nosuid,hidepid=0 0 0\n":                           false,
		"proc /proc proc rw,nosuid,hidepid=2 0 0\n":                           true,
		"sysfs /sys sysfs rw 0 0\nproc /proc proc rw,hidepid=invisible 0 0\n": true,
		"proc /other proc rw,hidepid=2 0 0\n":                                 false,
	} {
		if got := mountsHideProcesses([]byte(mounts)); got != hides {
			t.Errorf("%q: hides %v, want %v", mounts, got, hides)
		}
	}
}

// TestMarksAreKeptOnlyInAFolderOfThisUser: a symlink or a folder others may
// write where the marks go (planted in a shared /tmp) is not used: no mark
// is made, read or removed through it.
func TestMarksAreKeptOnlyInAFolderOfThisUser(t *testing.T) {
	marksHereOnly(t)
	for what, plant := range map[string]func(dir string) error{
		"a symlink": func(dir string) error { return os.Symlink(t.TempDir(), dir) },
		"a folder anyone may write": func(dir string) error {
			if err := os.Mkdir(dir, 0o700); err != nil {
				return err
			}
			return os.Chmod(dir, 0o777) //nolint:gosec // the folder a hostile user would leave
		},
	} {
		t.Setenv("TMPDIR", t.TempDir())
		if err := plant(marksDir()); err != nil {
			t.Fatal(err)
		}
		if err := MarkRunHere(); err == nil {
			t.Errorf("%s where the marks go: marked through it", what)
		}
	}
	t.Setenv("TMPDIR", t.TempDir())
	if err := MarkRunHere(); err != nil {
		t.Fatalf("a fresh temporary folder: %v", err)
	}
}

// TestMarksGoToTheUnitsRuntimeDirectory: under systemd the marks go to the
// unit's RuntimeDirectory, which a restart keeps, not to a PrivateTmp,
// which is emptied when the service stops.
func TestMarksGoToTheUnitsRuntimeDirectory(t *testing.T) {
	runtime := t.TempDir()
	t.Setenv("RUNTIME_DIRECTORY", runtime+":/run/other")
	if got, want := marksDir(), filepath.Join(runtime, "runs"); got != want {
		t.Fatalf("marks in %s, want %s", got, want)
	}
	t.Setenv("RUNTIME_DIRECTORY", "")
	if got := marksDir(); !strings.HasPrefix(got, os.TempDir()) {
		t.Fatalf("without systemd, marks in %s, want the temporary folder", got)
	}
}
