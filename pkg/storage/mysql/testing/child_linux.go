package mysqltesting

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
)

// Children must not outlive the test process, even when it is killed and runs no cleanup, so the
// kernel sends them SIGKILL when their parent dies (Pdeathsig). The signal fires when the thread
// that forked the child exits, not the process (go.dev/issue/27505), and Go ends a thread whenever
// a goroutine that locked it returns. So every child is forked by one goroutine that locks its
// thread and never returns.
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
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Pdeathsig = syscall.SIGKILL
	done := make(chan error, 1)
	spawner.reqs <- spawnRequest{cmd: cmd, done: done}
	return <-done
}

// processAlive reports whether pid exists and is not a zombie.
func processAlive(pid int) bool {
	err := syscall.Kill(pid, 0)
	if err != nil && !errors.Is(err, syscall.EPERM) {
		return false
	}
	stat, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return !errors.Is(err, os.ErrNotExist)
	}
	// The state follows the parenthesised command name, which may itself hold spaces or ')'.
	if i := bytes.LastIndexByte(stat, ')'); i >= 0 && len(stat) > i+2 {
		return stat[i+2] != 'Z'
	}
	return true
}

// killLeftoverServers kills mariadbd processes still running from a stale work directory. The pid
// file alone is not trusted: the pid is killed only if its command line names that directory.
func killLeftoverServers(dir string) {
	pidFiles, _ := filepath.Glob(filepath.Join(dir, "srv*", "mysqld.pid"))
	for _, pidFile := range pidFiles {
		data, err := os.ReadFile(pidFile)
		if err != nil {
			continue
		}
		pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
		if err != nil || pid <= 0 {
			continue
		}
		cmdline, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "cmdline"))
		if err != nil || !bytes.Contains(cmdline, []byte("--datadir="+filepath.Join(filepath.Dir(pidFile), "data"))) {
			continue
		}
		_ = syscall.Kill(pid, syscall.SIGKILL)
	}
}
