package coord

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"

	"github.com/google/uuid"
)

// DeadRunHere is the run of a process of this machine that has exited,
// marked here, as a killed sidecar leaves it.
func DeadRunHere() (string, error) {
	here, ok := thisProcess()
	if !ok {
		return "", fmt.Errorf("/proc does not say where this process is")
	}
	child := exec.Command("sleep", "30")
	if err := child.Start(); err != nil {
		return "", err
	}
	pid, start, err := readStat(strconv.Itoa(child.Process.Pid))
	_ = child.Process.Kill()
	_ = child.Wait()
	if err != nil {
		return "", err
	}
	dir, err := ownMarksDir()
	if err != nil {
		return "", err
	}
	id := uuid.NewString()
	if err := os.WriteFile(filepath.Join(dir, id), nil, 0o600); err != nil {
		return "", err
	}
	return fmt.Sprintf("%s@%s/%d/%d", id, here.place, pid, start), nil
}
