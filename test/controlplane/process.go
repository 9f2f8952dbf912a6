package controlplane

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"k8s.io/klog/v2"
)

// process is a child process whose output goes to a log file. It gets SIGKILL when the
// process that started it dies (Pdeathsig), so a crashed or killed test leaves nothing behind.
type process struct {
	name    string
	logFile string
	cmd     *exec.Cmd
	// logOffset is where this run's output starts in logFile.
	logOffset int64
	done      chan struct{} // closed when the process has exited
	waitErr   error         // valid after done is closed
}

func startProcess(logger klog.Logger, name, binary, logFile string, args []string) (*process, error) {
	return startProcessEnv(logger, name, binary, logFile, args, nil)
}

// startProcessEnv is startProcess with env added to this process's environment.
func startProcessEnv(logger klog.Logger, name, binary, logFile string, args, env []string) (*process, error) {
	log, err := os.OpenFile(logFile, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("opening %s log: %w", name, err)
	}
	defer log.Close() // the child has its own descriptor
	offset, err := log.Seek(0, io.SeekEnd)
	if err != nil {
		return nil, fmt.Errorf("opening %s log: %w", name, err)
	}
	fmt.Fprintf(log, "\n===== %s starting %s %q\n", time.Now().Format(time.RFC3339), binary, args)

	cmd := exec.Command(binary, args...)
	cmd.Stdout = log
	cmd.Stderr = log
	cmd.Env = append(append(os.Environ(), "GOTRACEBACK=all"), env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{
		// Pdeathsig is tied to the thread that forked the child; Go keeps its threads alive
		// unless a goroutine exits while locked to one, which this package never does.
		Pdeathsig: syscall.SIGKILL,
		Setpgid:   true, // a ^C in a terminal reaches the test only; Stop() shuts the child down in order
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s: %w", name, err)
	}
	p := &process{name: name, logFile: logFile, logOffset: offset, cmd: cmd, done: make(chan struct{})}
	go func() {
		p.waitErr = cmd.Wait()
		close(p.done)
	}()
	logger.V(1).Info("Started process", "name", name, "pid", cmd.Process.Pid, "log", logFile)
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
	return fmt.Errorf("%s exited (%v); last lines of %s:\n%s", p.name, p.waitErr, p.logFile, p.logTail(30))
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
	if err := p.cmd.Process.Kill(); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("killing %s: %w", p.name, err)
	}
	<-p.done
	return fmt.Errorf("%s did not exit within %v of SIGTERM and was killed; see %s", p.name, grace, p.logFile)
}

// freePorts returns n distinct TCP ports that were free on 127.0.0.1 a moment ago. Another
// process can take one before our child binds it; start-up retries with new ports when a
// child fails with "address already in use".
func freePorts(n int) ([]int, error) {
	ports := make([]int, 0, n)
	var listeners []net.Listener
	defer func() {
		for _, l := range listeners {
			_ = l.Close()
		}
	}()
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("finding a free port: %w", err)
		}
		listeners = append(listeners, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// addressInUse reports whether the process failed because it could not bind its port.
func (p *process) addressInUse() bool {
	return strings.Contains(p.logTail(30), "address already in use")
}

// logTail returns the last n lines this run of the process wrote to its log (a reused Dir
// appends to the logs of earlier runs).
func (p *process) logTail(n int) string { return fileTail(p.logFile, p.logOffset, n) }

func logPath(dir, name string) string { return filepath.Join(dir, "logs", name+".log") }
