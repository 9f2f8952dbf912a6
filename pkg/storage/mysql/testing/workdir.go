package mysqltesting

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"k8s.io/klog/v2"
)

const (
	// dirPrefix marks the per-process work directories under os.TempDir().
	dirPrefix = "mysqltesting-"
	// ownerFile holds the pid of the test process that owns a work directory.
	ownerFile      = "owner.pid"
	installTimeout = 2 * time.Minute
	// installOutputLines is how much of a failed mariadb-install-db's output an error quotes.
	installOutputLines = 8
)

// Where to look for the server and mariadb-install-db besides PATH. Variables so that a test can
// pretend MariaDB is not installed.
var (
	serverNames    = []string{"mariadbd", "mysqld"}
	serverDirs     = []string{"/usr/sbin", "/usr/bin", "/usr/local/mysql/bin"}
	installDBNames = []string{"mariadb-install-db", "mysql_install_db"}
	installDBDirs  = []string{"/usr/bin", "/usr/local/mysql/scripts", "/usr/local/mysql/bin"}
)

// bootstrapSQL runs at the end of mariadb-install-db.
//
// Authentication: --auth-root-authentication-method=normal gives root a password-less account
// instead of unix_socket authentication, which only works for the matching OS user over the
// socket. Tests connect over TCP to 127.0.0.1 and the server runs with --skip-name-resolve, so the
// account that matches them is root@127.0.0.1, not root@localhost. This file (re)creates exactly
// that account rather than trusting which hosts a given mariadb-install-db version lists. It is a
// real account checked by the server on every connection, unlike --skip-grant-tables.
//
// The bootstrap server runs without grant tables, so FLUSH PRIVILEGES first loads them; account
// statements fail otherwise.
const bootstrapSQL = `FLUSH PRIVILEGES;
DROP USER IF EXISTS 'root'@'127.0.0.1';
CREATE USER 'root'@'127.0.0.1';
GRANT ALL PRIVILEGES ON *.* TO 'root'@'127.0.0.1' WITH GRANT OPTION;
`

type binaries struct {
	server    string
	installDB string
}

// workDir is this process's os.TempDir()/mysqltesting-* directory: the template data dir made by
// mariadb-install-db once, and one srvN directory per server.
type workDir struct {
	binaries
	root     string
	template string
}

var work struct {
	mu     sync.Mutex
	dir    *workDir // nil until first use
	users  int      // servers whose directory lies under dir
	nextID int
}

// acquireWorkDir returns the work directory, creating it and the template on first use, and a new
// empty directory in it for one server. Callers release it with releaseWorkDir.
func acquireWorkDir() (*workDir, string, error) {
	work.mu.Lock()
	defer work.mu.Unlock()
	if work.dir == nil {
		w, err := newWorkDir()
		if err != nil {
			return nil, "", err
		}
		work.dir = w
	}
	work.nextID++
	dir := filepath.Join(work.dir.root, "srv"+strconv.Itoa(work.nextID))
	if err := os.Mkdir(dir, 0o700); err != nil {
		return nil, "", fmt.Errorf("creating server directory: %w", err)
	}
	work.users++
	return work.dir, dir, nil
}

func releaseWorkDir() {
	work.mu.Lock()
	defer work.mu.Unlock()
	work.users--
}

// removeWorkDirIfUnused removes the template. Not done on the last release: a package that starts
// private servers one after another would run mariadb-install-db each time.
func removeWorkDirIfUnused() {
	work.mu.Lock()
	defer work.mu.Unlock()
	if work.dir == nil || work.users > 0 {
		return
	}
	if err := os.RemoveAll(work.dir.root); err != nil {
		klog.ErrorS(err, "Removing MariaDB test directory", "dir", work.dir.root)
	}
	work.dir = nil
}

func newWorkDir() (*workDir, error) {
	bins, err := findBinaries()
	if err != nil {
		return nil, err
	}
	sweepStale()
	root, err := os.MkdirTemp("", dirPrefix)
	if err != nil {
		return nil, fmt.Errorf("creating work directory: %w", err)
	}
	if err := os.WriteFile(filepath.Join(root, ownerFile), []byte(strconv.Itoa(os.Getpid())), 0o600); err != nil {
		_ = os.RemoveAll(root)
		return nil, fmt.Errorf("writing owner file: %w", err)
	}
	w := &workDir{binaries: bins, root: root, template: filepath.Join(root, "template")}
	began := time.Now()
	if err := w.installTemplate(); err != nil {
		_ = os.RemoveAll(root)
		return nil, err
	}
	klog.V(2).InfoS("Created MariaDB template data dir", "dir", w.template, "duration", time.Since(began))
	return w, nil
}

// installTemplate runs mariadb-install-db into a scratch directory and keeps a sparse copy of the
// result, so the template left behind by a test process without StopSharedServer costs ~7 MB,
// not ~65 MB, until the next test process sweeps it.
func (w *workDir) installTemplate() error {
	scratch := filepath.Join(w.root, "install")
	// Its own tmpdir: at startup mariadbd deletes every #sql* file in its tmpdir, so servers sharing
	// /tmp delete each other's on-disk temporary tables, and concurrent bootstraps fail.
	tmp := filepath.Join(w.root, "install-tmp")
	if err := os.Mkdir(tmp, 0o700); err != nil {
		return err
	}
	bootstrap := filepath.Join(w.root, "bootstrap.sql")
	if err := os.WriteFile(bootstrap, []byte(bootstrapSQL), 0o600); err != nil {
		return err
	}
	args := []string{
		"--no-defaults",
		"--basedir=" + filepath.Dir(filepath.Dir(w.server)),
		"--datadir=" + scratch,
		"--tmpdir=" + tmp,
		"--auth-root-authentication-method=normal",
		"--skip-test-db",
		"--skip-name-resolve",
		"--extra-file=" + bootstrap,
	}
	args = append(args, serverSettings...)
	args = append(args, runAsArgs()...)

	ctx, cancel := context.WithTimeout(context.Background(), installTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, w.installDB, args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := startChild(cmd)
	if err == nil {
		err = cmd.Wait()
	}
	if err != nil {
		return fmt.Errorf("%s %s: %w; its output begins:\n%s",
			w.installDB, strings.Join(args, " "), err, indentHead(out.Bytes(), installOutputLines))
	}
	if err := copyTree(scratch, w.template); err != nil {
		return fmt.Errorf("copying template data dir: %w", err)
	}
	if err := os.RemoveAll(tmp); err != nil {
		return err
	}
	return os.RemoveAll(scratch)
}

// indentHead returns the first n lines of mariadb-install-db's output: the error comes first, a
// page of generic advice follows.
func indentHead(data []byte, n int) string {
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	if len(lines) > n {
		lines = append(lines[:n], "...")
	}
	return "    " + strings.Join(lines, "\n    ")
}

// findBinaries looks for mariadbd (or mysqld) and mariadb-install-db on PATH, then in the usual
// install locations.
func findBinaries() (binaries, error) {
	server := lookFor(serverNames, serverDirs)
	if server == "" {
		return binaries{}, &missingDependencyError{msg: fmt.Sprintf(
			"no MariaDB server: none of %v on PATH or in %v", serverNames, serverDirs)}
	}
	// Resolved, so --basedir is the real installation (a Homebrew symlink points into its Cellar).
	if real, err := filepath.EvalSymlinks(server); err == nil {
		server = real
	}
	version, err := exec.Command(server, "--version").CombinedOutput()
	if err != nil {
		return binaries{}, fmt.Errorf("%s --version: %w: %s", server, err, bytes.TrimSpace(version))
	}
	if !bytes.Contains(version, []byte("MariaDB")) {
		// Oracle MySQL initialises data dirs differently (mysqld --initialize-insecure).
		return binaries{}, &missingDependencyError{msg: fmt.Sprintf(
			"%s is not MariaDB (%s); set %s to use a MySQL server", server, bytes.TrimSpace(version), EnvDSN)}
	}
	dirs := append([]string{filepath.Dir(server), filepath.Join(filepath.Dir(filepath.Dir(server)), "scripts")}, installDBDirs...)
	installDB := lookFor(installDBNames, dirs)
	if installDB == "" {
		return binaries{}, &missingDependencyError{msg: fmt.Sprintf(
			"found %s but none of %v on PATH or in %v", server, installDBNames, dirs)}
	}
	return binaries{server: server, installDB: installDB}, nil
}

func lookFor(names, dirs []string) string {
	for _, name := range names {
		if path, err := exec.LookPath(name); err == nil {
			return path
		}
		for _, dir := range dirs {
			path := filepath.Join(dir, name)
			if info, err := os.Stat(path); err == nil && info.Mode().IsRegular() && info.Mode().Perm()&0o111 != 0 {
				return path
			}
		}
	}
	return ""
}

// sweepStale removes work directories of test processes that are gone: killed test binaries
// cannot clean up after themselves. Their servers died with them (see startChild); one that did
// not is killed here.
func sweepStale() {
	dirs, err := filepath.Glob(filepath.Join(os.TempDir(), dirPrefix+"*"))
	if err != nil {
		return
	}
	for _, dir := range dirs {
		data, err := os.ReadFile(filepath.Join(dir, ownerFile))
		if err != nil {
			// No owner yet: a process is creating it right now.
			continue
		}
		pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
		if err != nil || pid == os.Getpid() || processAlive(pid) {
			continue
		}
		killLeftoverServers(dir)
		if err := os.RemoveAll(dir); err != nil {
			klog.V(2).ErrorS(err, "Could not remove stale MariaDB test directory", "dir", dir)
			continue
		}
		klog.V(2).InfoS("Removed stale MariaDB test directory", "dir", dir, "ownerPID", pid)
	}
}
