package testbed

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"
)

// process is one child process of the test bed, with its output in a log
// file. One goroutine per process waits for it to exit; it ends when the
// process does, and stop and kill make sure the process does.
type process struct {
	name    string
	cmd     *exec.Cmd
	logPath string
	done    chan struct{}
	exitErr error
}

// startProcess starts bin with its stderr (and stdout, unless stdout is
// given) appended to logPath. The child is killed if the test process dies,
// so a crashed test run leaves no servers behind.
func startProcess(name, logPath string, env []string, stdout io.Writer, bin string, args ...string) (*process, error) {
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open %s log: %w", name, err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stderr = logFile
	cmd.Stdout = logFile
	if stdout != nil {
		cmd.Stdout = stdout
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true}
	if err := cmd.Start(); err != nil {
		_ = logFile.Close() // nothing was written
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	p := &process{name: name, cmd: cmd, logPath: logPath, done: make(chan struct{})}
	go func() {
		defer func() { _ = logFile.Close() }()
		p.exitErr = cmd.Wait()
		// A crash of a child often prints nothing: its exit status is the
		// news. The log is for a person; the status is also in exitErr.
		_, _ = fmt.Fprintf(logFile, "testbed: %s exited: %v\n", name, p.exitErr)
		close(p.done)
	}()
	return p, nil
}

// exited reports whether the process has ended.
func (p *process) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// stop asks the process to end with SIGTERM and kills it after grace.
func (p *process) stop(grace time.Duration) {
	if p.exited() {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(grace):
		p.kill()
	}
}

// kill ends the process at once, as a crash would, and waits for it.
func (p *process) kill() {
	if p.exited() {
		return
	}
	_ = p.cmd.Process.Kill()
	<-p.done
}

// failure explains why a process did not come up: its exit status, if it
// ended, and the end of its log.
func (p *process) failure(what string, err error) error {
	log, _ := os.ReadFile(p.logPath)
	status := "still running"
	if p.exited() {
		status = fmt.Sprintf("exited: %v", p.exitErr)
	}
	return errors.Join(err, fmt.Errorf("%s %s (%s); its log %s ends with:\n%s",
		p.name, what, status, p.logPath, tail(string(log), 3000)))
}

func (p *process) String() string {
	return fmt.Sprintf("%s (pid %d): %s", p.name, p.cmd.Process.Pid, strings.Join(p.cmd.Args, " "))
}

// pid is the process's id, 0 when it is not running.
func (p *process) pid() int {
	if p == nil || p.cmd.Process == nil {
		return 0
	}
	return p.cmd.Process.Pid
}
