package mysqltesting

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/go-sql-driver/mysql"
	"k8s.io/klog/v2"
)

const (
	// startTimeout is generous: CI machines run several test packages, each with its own servers,
	// on two cores, and a restart after Kill includes crash recovery.
	startTimeout = 2 * time.Minute
	stopTimeout  = 2 * time.Minute
	killTimeout  = 30 * time.Second
	pollInterval = 20 * time.Millisecond
	// freshStartAttempts covers another process taking the free port between our probe and the bind.
	freshStartAttempts = 5
	// restartPortWait is how long Start retries while its fixed port is still taken.
	restartPortWait = 10 * time.Second
	logTailLines    = 40
)

// serverSettings are given to both mariadb-install-db and mariadbd, so the template's files match
// what the server expects (the redo log size above all).
var serverSettings = []string{
	// Durable on purpose: fault tests kill -9 the server and expect every committed row back.
	"--innodb-flush-log-at-trx-commit=1",
	// Smaller than the 96M default: every server starts from a copy of the template.
	"--innodb-log-file-size=48M",
	"--innodb-buffer-pool-size=128M",
	// Many servers on one machine can exhaust fs.aio-max-nr; synchronous I/O is fine for tests.
	"--innodb-use-native-aio=0",
	// Concurrency tests open several pools, as several replicas would.
	"--max-connections=500",
	// What packaged MariaDB and managed MySQL ship (--no-defaults alone would give latin1): storage
	// code has to ask for the collation it needs, as it must in production.
	"--character-set-server=utf8mb4",
	"--collation-server=utf8mb4_general_ci",
}

// errPortInUse is a server that could not bind its port.
var errPortInUse = errors.New("port already in use")

// process is one private mariadbd and its directory:
//
//	<dir>/data         data directory, a copy of the template
//	<dir>/mysqld.sock  its own socket, so it never touches the system server's
//	<dir>/mysqld.pid
//	<dir>/tmp          its own tmpdir: mariadbd deletes every #sql* file in its tmpdir at startup
//	<dir>/error.log    the server's log, appended across restarts
type process struct {
	bin  string
	dir  string
	port int

	// extra are mariadbd options after the common ones (a Galera node's wsrep settings).
	extra []string

	mu        sync.Mutex
	cur       *run // nil before the first start
	destroyed bool
}

// run is one life of the mariadbd process.
type run struct {
	cmd     *exec.Cmd
	logFrom int64 // size of error.log when this run began: its own lines start there
	exited  chan struct{}
	err     error // cmd.Wait's result; read only after exited is closed
}

func (r *run) done() bool {
	select {
	case <-r.exited:
		return true
	default:
		return false
	}
}

// newProcess copies the template into a new directory and starts mariadbd on a free port.
func newProcess() (*process, error) {
	p, err := prepareProcess()
	if err != nil {
		return nil, err
	}
	for attempt := 1; ; attempt++ {
		p.port, err = freePort()
		if err == nil {
			err = p.start()
		}
		if err == nil {
			return p, nil
		}
		if !errors.Is(err, errPortInUse) || attempt == freshStartAttempts {
			p.destroy()
			return nil, err
		}
	}
}

// prepareProcess makes a new directory with a copy of the template, not started yet.
func prepareProcess() (*process, error) {
	w, dir, err := acquireWorkDir()
	if err != nil {
		return nil, err
	}
	p := &process{bin: w.server, dir: dir}
	if err := copyTree(w.template, p.path("data")); err != nil {
		p.destroy()
		return nil, fmt.Errorf("copying template data dir: %w", err)
	}
	if err := os.Mkdir(p.path("tmp"), 0o700); err != nil {
		p.destroy()
		return nil, err
	}
	return p, nil
}

func (p *process) path(name string) string { return filepath.Join(p.dir, name) }

func (p *process) addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(p.port)) }

// baseConfig is how tests connect. mariadb-install-db gave root@127.0.0.1 an empty password; see
// bootstrapSQL for why that account and not the others.
func (p *process) baseConfig() *mysql.Config {
	cfg := mysql.NewConfig()
	cfg.User = "root"
	cfg.Net = "tcp"
	cfg.Addr = p.addr()
	return cfg
}

func (p *process) args() []string {
	args := []string{
		// First, as mariadbd requires: nothing from /etc/mysql or ~/.my.cnf reaches the test server.
		"--no-defaults",
		"--datadir=" + p.path("data"),
		"--socket=" + p.path("mysqld.sock"),
		"--pid-file=" + p.path("mysqld.pid"),
		"--log-error=" + p.path("error.log"),
		"--tmpdir=" + p.path("tmp"),
		"--port=" + strconv.Itoa(p.port),
		"--bind-address=127.0.0.1",
		// Accounts match by IP (root@127.0.0.1), and no connection waits on a DNS lookup.
		"--skip-name-resolve",
	}
	args = append(args, serverSettings...)
	args = append(args, p.extra...)
	return append(args, runAsArgs()...)
}

// runAsArgs lets mariadbd run as root, which it refuses unless told so explicitly. As any other
// user --user would only produce a warning, so it is left out.
func runAsArgs() []string {
	if os.Geteuid() == 0 {
		return []string{"--user=root"}
	}
	return nil
}

func (p *process) running() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.cur != nil && !p.cur.done()
}

// start launches mariadbd and waits until it accepts connections.
func (p *process) start() error {
	r, err := p.launch()
	if err != nil {
		return err
	}
	if err := p.waitReady(r); err != nil {
		if !r.done() {
			_ = r.cmd.Process.Kill()
			<-r.exited
		}
		return err
	}
	return nil
}

func (p *process) launch() (*run, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.destroyed {
		return nil, errors.New("server was already removed")
	}
	if p.cur != nil && !p.cur.done() {
		return nil, fmt.Errorf("mariadbd is already running (pid %d)", p.cur.cmd.Process.Pid)
	}
	logFile, err := os.OpenFile(p.path("error.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	defer func() { _ = logFile.Close() }() // the child has its own descriptor
	info, err := logFile.Stat()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(p.bin, p.args()...)
	// What mariadbd prints before it opens --log-error (bad options, mostly) lands in the log too.
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := startChild(cmd); err != nil {
		return nil, fmt.Errorf("starting %s: %w", p.bin, err)
	}
	r := &run{cmd: cmd, logFrom: info.Size(), exited: make(chan struct{})}
	go func() {
		r.err = cmd.Wait()
		close(r.exited)
	}()
	p.cur = r
	return r, nil
}

// waitReady pings over TCP until the server answers, it exits, or startTimeout passes.
func (p *process) waitReady(r *run) error {
	cfg := p.baseConfig()
	cfg.Timeout = 2 * time.Second
	connector, err := mysql.NewConnector(cfg)
	if err != nil {
		return err
	}
	db := sql.OpenDB(connector)
	defer func() { _ = db.Close() }()

	deadline := time.Now().Add(startTimeout)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		err := db.PingContext(ctx)
		cancel()
		if err == nil {
			return nil
		}
		select {
		case <-r.exited:
			tail := p.logTail(r.logFrom)
			if strings.Contains(tail, "Address already in use") {
				return fmt.Errorf("mariadbd on %s: %w", p.addr(), errPortInUse)
			}
			return fmt.Errorf("mariadbd on %s exited during startup (%v); last lines of %s:\n%s",
				p.addr(), r.err, p.path("error.log"), tail)
		case <-time.After(pollInterval):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("mariadbd on %s not accepting connections after %v: %w; last lines of %s:\n%s",
				p.addr(), startTimeout, err, p.path("error.log"), p.logTail(r.logFrom))
		}
	}
}

// restart starts the server again on its port. The port is not re-picked: clients and fault tests
// hold the address.
func (p *process) restart() error {
	deadline := time.Now().Add(restartPortWait)
	for {
		err := p.start()
		if !errors.Is(err, errPortInUse) || time.Now().After(deadline) {
			return err
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func (p *process) current() (*run, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cur == nil || p.cur.done() {
		return nil, errors.New("mariadbd is not running")
	}
	return p.cur, nil
}

// stop asks for a clean shutdown (SIGTERM) and waits for the exit.
func (p *process) stop() error {
	r, err := p.current()
	if err != nil {
		return err
	}
	if err := signalAndWait(r, syscall.SIGTERM, stopTimeout); err != nil {
		_ = signalAndWait(r, syscall.SIGKILL, killTimeout)
		return err
	}
	if r.err != nil {
		return fmt.Errorf("mariadbd shut down with %w; last lines of %s:\n%s", r.err, p.path("error.log"), p.logTail(r.logFrom))
	}
	return nil
}

// kill sends SIGKILL and waits for the exit.
func (p *process) kill() error {
	r, err := p.current()
	if err != nil {
		return err
	}
	return signalAndWait(r, syscall.SIGKILL, killTimeout)
}

func signalAndWait(r *run, sig syscall.Signal, timeout time.Duration) error {
	if err := r.cmd.Process.Signal(sig); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("sending %v to mariadbd (pid %d): %w", sig, r.cmd.Process.Pid, err)
	}
	select {
	case <-r.exited:
		return nil
	case <-time.After(timeout):
		return fmt.Errorf("mariadbd (pid %d) still running %v after %v", r.cmd.Process.Pid, timeout, sig)
	}
}

// destroy kills the server if it runs and removes its directory. The data is thrown away, so
// there is no point in a clean shutdown. Safe to call more than once.
func (p *process) destroy() {
	p.mu.Lock()
	if p.destroyed {
		p.mu.Unlock()
		return
	}
	p.destroyed = true
	r := p.cur
	p.mu.Unlock()

	if r != nil && !r.done() {
		if err := signalAndWait(r, syscall.SIGKILL, killTimeout); err != nil {
			klog.ErrorS(err, "Leaving MariaDB test server behind", "dir", p.dir)
			return
		}
	}
	if err := os.RemoveAll(p.dir); err != nil {
		klog.ErrorS(err, "Removing MariaDB test server directory", "dir", p.dir)
	}
	releaseWorkDir()
}

// logTail returns the last lines the server wrote to its error log since offset, indented.
func (p *process) logTail(offset int64) string {
	f, err := os.Open(p.path("error.log"))
	if err != nil {
		return fmt.Sprintf("    (cannot read error log: %v)", err)
	}
	defer func() { _ = f.Close() }()
	const maxBytes = 16 << 10
	if info, err := f.Stat(); err == nil && info.Size()-offset > maxBytes {
		offset = info.Size() - maxBytes
	}
	data, err := io.ReadAll(io.NewSectionReader(f, offset, maxBytes))
	if err != nil {
		return fmt.Sprintf("    (cannot read error log: %v)", err)
	}
	return indentTail(data, logTailLines)
}

func indentTail(data []byte, n int) string {
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	if len(lines) == 1 && lines[0] == "" {
		return "    (empty)"
	}
	return "    " + strings.Join(lines, "\n    ")
}

// freePort asks the kernel for a free port. Another process may take it before mariadbd binds;
// newProcess then tries another.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("finding a free port: %w", err)
	}
	defer func() { _ = l.Close() }()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// copyTree copies the template data dir. Directories and regular files are all a fresh data dir
// holds.
func copyTree(src, dst string) error {
	return filepath.WalkDir(src, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, path)
		if err != nil {
			return err
		}
		target := filepath.Join(dst, rel)
		info, err := d.Info()
		if err != nil {
			return err
		}
		switch {
		case d.IsDir():
			return os.MkdirAll(target, info.Mode().Perm())
		case info.Mode().IsRegular():
			return copySparse(path, target, info.Mode().Perm())
		default:
			return fmt.Errorf("unexpected file %s in template data dir", path)
		}
	})
}

// copySparse copies a file, leaving holes where the source has blocks of zeros: the redo log and
// system tablespace of a fresh data dir are mostly zeros, so a copy writes about 7 MB instead of 65.
func copySparse(src, dst string, perm os.FileMode) (err error) {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer func() { _ = in.Close() }()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := out.Close(); err == nil {
			err = cerr
		}
	}()

	buf := make([]byte, 64<<10)
	zero := make([]byte, len(buf))
	var size int64
	for {
		n, rerr := io.ReadFull(in, buf)
		if n > 0 && !bytes.Equal(buf[:n], zero[:n]) {
			if _, err := out.WriteAt(buf[:n], size); err != nil {
				return err
			}
		}
		size += int64(n)
		if errors.Is(rerr, io.EOF) || errors.Is(rerr, io.ErrUnexpectedEOF) {
			break
		}
		if rerr != nil {
			return rerr
		}
	}
	// Sets the length when the file ends in a hole.
	return out.Truncate(size)
}
