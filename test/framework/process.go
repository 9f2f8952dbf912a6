package framework

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"time"
)

// process is one life of a child process whose output goes to a log file.
type process struct {
	name    string
	logFile string
	cmd     *exec.Cmd
	// logOffset is where this life's output starts in logFile; a reused Dir appends.
	logOffset int64
	done      chan struct{} // closed when the process has exited
	waitErr   error         // valid after done is closed
}

// Children must not outlive the environment, even when the test binary or `make run` is
// killed and runs no cleanup, so the kernel sends them SIGKILL when their parent dies
// (Pdeathsig). That signal fires when the thread that forked the child exits, and Go ends a
// thread whenever a goroutine locked to it returns (go.dev/issue/27505); so every child is
// forked by one goroutine that locks its thread and never returns.
var spawner struct {
	once sync.Once
	reqs chan spawnRequest
}

type spawnRequest struct {
	cmd  *exec.Cmd
	done chan error
}

func startChild(cmd *exec.Cmd) error {
	spawner.once.Do(func() {
		spawner.reqs = make(chan spawnRequest)
		go func() {
			runtime.LockOSThread()
			for req := range spawner.reqs {
				req.done <- req.cmd.Start()
			}
		}()
	})
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Pdeathsig: syscall.SIGKILL,
		// A ^C in the terminal reaches `make run` only, which then stops the children in
		// order: the server before the database it writes to.
		Setpgid: true,
	}
	done := make(chan error, 1)
	spawner.reqs <- spawnRequest{cmd: cmd, done: done}
	return <-done
}

// startProcess starts binary with args, appending its output to logFile.
func startProcess(name, binary, logFile string, args []string) (*process, error) {
	log, err := os.OpenFile(logFile, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("opening %s log: %w", name, err)
	}
	defer log.Close() // the child has its own descriptor
	offset, err := log.Seek(0, io.SeekEnd)
	if err != nil {
		return nil, fmt.Errorf("opening %s log: %w", name, err)
	}
	fmt.Fprintf(log, "\n===== %s starting %s %s\n", time.Now().Format(time.RFC3339), binary, strings.Join(args, " "))

	cmd := exec.Command(binary, args...)
	cmd.Stdout, cmd.Stderr = log, log
	cmd.Env = append(os.Environ(), "GOTRACEBACK=all")
	if err := startChild(cmd); err != nil {
		return nil, fmt.Errorf("starting %s: %w", name, err)
	}
	p := &process{name: name, logFile: logFile, logOffset: offset, cmd: cmd, done: make(chan struct{})}
	go func() {
		p.waitErr = cmd.Wait()
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

// exitError describes how the process ended, with the tail of its log.
func (p *process) exitError() error {
	return fmt.Errorf("%s exited (%v); last lines of %s:\n%s", p.name, p.waitErr, p.logFile, p.logTail(logTailLines))
}

// stop sends SIGTERM, waits up to grace for the process to exit and kills it after that.
func (p *process) stop(grace time.Duration) error {
	if p.exited() {
		return nil
	}
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("stopping %s: %w", p.name, err)
	}
	select {
	case <-p.done:
		return nil
	case <-time.After(grace):
	}
	p.kill()
	return fmt.Errorf("%s did not exit within %v of SIGTERM and was killed; see %s", p.name, grace, p.logFile)
}

// kill sends SIGKILL and waits for the exit.
func (p *process) kill() {
	if err := p.cmd.Process.Kill(); err != nil && !errors.Is(err, os.ErrProcessDone) {
		// Only fails if the process is gone already.
		return
	}
	<-p.done
}

// logTail returns the last n lines this life of the process wrote to its log.
func (p *process) logTail(n int) string { return fileTail(p.logFile, p.logOffset, n) }

// fileTail returns the last n lines of a file from offset on.
func fileTail(path string, offset int64, n int) string {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Sprintf("(no log: %v)", err)
	}
	defer f.Close()
	const maxRead = 256 << 10
	if st, err := f.Stat(); err == nil && st.Size()-offset > maxRead {
		offset = st.Size() - maxRead
	}
	data, err := io.ReadAll(io.NewSectionReader(f, offset, maxRead))
	if err != nil {
		return fmt.Sprintf("(reading log: %v)", err)
	}
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
