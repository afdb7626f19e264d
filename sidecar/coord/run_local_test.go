package coord

import (
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"

	"github.com/google/uuid"
)

// TestARunIsGoneHereOnlyWhenTheKernelSaysSo: a run of a process of this
// host that exited is gone at once; this process's own run, one of a live
// process, one of another boot or PID namespace, one whose pid now names a
// process started at another time, and a run without a place (another
// host's, an older sidecar's) are not known gone.
func TestARunIsGoneHereOnlyWhenTheKernelSaysSo(t *testing.T) {
	here, ok := thisProcess()
	if !ok {
		t.Fatal("/proc does not say where this process is: the test needs Linux's /proc")
	}
	if !strings.Contains(ProcessRun, "@") {
		t.Fatalf("ProcessRun %q names no place", ProcessRun)
	}
	child := exec.Command("sleep", "30")
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	pid, start, err := readStat(strconv.Itoa(child.Process.Pid))
	if err != nil {
		t.Fatal(err)
	}
	run := func(boot, ns string, pid int, start uint64) string {
		return fmt.Sprintf("%s@%s/%s/%d/%d", uuid.NewString(), boot, ns, pid, start)
	}
	childRun := run(here.boot, here.pidNS, pid, start)
	alive := map[string]string{
		"this process":            ProcessRun,
		"a live process":          childRun,
		"another boot":            run("another-boot", here.pidNS, 999999, 1),
		"another PID namespace":   run(here.boot, "pid:[1]", 999999, 1),
		"a run without its place": uuid.NewString(),
		"a test's run":            "twin-" + uuid.NewString(),
	}
	for what, r := range alive {
		if runGoneHere(r) {
			t.Errorf("%s (%s) judged gone", what, r)
		}
	}
	if !runGoneHere(run(here.boot, here.pidNS, os.Getpid(), here.start+1)) {
		t.Error("a run whose pid now names this process, started at another time, not judged gone")
	}
	if err := child.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = child.Wait() // reaped: its pid is free
	if !runGoneHere(childRun) {
		t.Errorf("the run of a process that exited (%s) not judged gone", childRun)
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
