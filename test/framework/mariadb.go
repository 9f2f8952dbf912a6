package framework

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/fnv"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/go-sql-driver/mysql"
)

const (
	// DatabaseName and DatabaseUser are the database and account the server uses.
	DatabaseName = "pipelines"
	DatabaseUser = "pipelines"

	mariaDBStopGrace = 2 * time.Minute
	installTimeout   = 2 * time.Minute
	// maxSocketPath keeps the socket path under the 108 bytes of sun_path.
	maxSocketPath = 100
)

// Where MariaDB is looked for besides PATH: the places hack/ensure-mariadb.sh and
// pkg/storage/mysql/testing look.
var (
	mariaDBServerNames  = []string{"mariadbd", "mysqld"}
	mariaDBServerDirs   = []string{"/usr/sbin", "/usr/bin", "/usr/local/mysql/bin"}
	mariaDBInstallNames = []string{"mariadb-install-db", "mysql_install_db"}
	mariaDBInstallDirs  = []string{"/usr/bin", "/usr/local/mysql/scripts", "/usr/local/mysql/bin"}
)

// mariaDBSettings go to both mariadb-install-db and mariadbd, so that the data directory's
// files match what the server expects (the redo log size above all).
var mariaDBSettings = []string{
	// Durable: the restart tests kill the server and expect every committed row back.
	"--innodb-flush-log-at-trx-commit=1",
	"--innodb-log-file-size=48M",
	"--innodb-buffer-pool-size=128M",
	// Several servers on one machine can exhaust fs.aio-max-nr.
	"--innodb-use-native-aio=0",
	"--max-connections=300",
	// What packaged MariaDB ships; --no-defaults alone would give latin1.
	"--character-set-server=utf8mb4",
	"--collation-server=utf8mb4_general_ci",
}

// bootstrapSQL runs at the end of mariadb-install-db. It gives root a password-less account
// for 127.0.0.1, the address the framework connects from (mariadbd runs with
// --skip-name-resolve, so root@localhost would not match), to create the database and the
// server's own account after each start. FLUSH PRIVILEGES loads the grant tables the bootstrap
// server runs without.
const bootstrapSQL = `FLUSH PRIVILEGES;
DROP USER IF EXISTS 'root'@'127.0.0.1';
CREATE USER 'root'@'127.0.0.1';
GRANT ALL PRIVILEGES ON *.* TO 'root'@'127.0.0.1' WITH GRANT OPTION;
`

// MissingDependencyError means something the tests need is not there and cannot be built
// from Go modules: MariaDB, or the shared test data beside the repository. Tests skip on it
// unless PIPELINES_REQUIRE_TESTDEPS=1.
type MissingDependencyError struct {
	Msg string
	// Fix says how to get it; empty means MariaDB's.
	Fix string
}

func (e *MissingDependencyError) Error() string {
	if e.Fix != "" {
		return e.Msg + "; " + e.Fix
	}
	return e.Msg + "; run hack/ensure-mariadb.sh (as root it installs mariadb-server with apt-get)"
}

// mariaDB is a private mariadbd with its data in dir:
//
//	<dir>/data       the data directory, created by mariadb-install-db on first use
//	<dir>/tmp        its own tmpdir
//	<dir>/password   the password of the server's account
//	<dir>/mariadb.log
type mariaDB struct {
	server, installDB string
	dir               string
	socket            string
	port              int
	proc              *process
}

func newMariaDB(dir string) (*mariaDB, error) {
	server := lookFor(mariaDBServerNames, mariaDBServerDirs)
	if server == "" {
		return nil, &MissingDependencyError{Msg: fmt.Sprintf("no MariaDB server: none of %v on PATH or in %v", mariaDBServerNames, mariaDBServerDirs)}
	}
	if real, err := filepath.EvalSymlinks(server); err == nil {
		server = real
	}
	version, err := exec.Command(server, "--version").CombinedOutput()
	if err != nil {
		return nil, fmt.Errorf("%s --version: %w: %s", server, err, bytes.TrimSpace(version))
	}
	if !bytes.Contains(version, []byte("MariaDB")) {
		return nil, &MissingDependencyError{Msg: fmt.Sprintf("%s is not MariaDB (%s)", server, bytes.TrimSpace(version))}
	}
	installDirs := append([]string{filepath.Dir(server), filepath.Join(filepath.Dir(filepath.Dir(server)), "scripts")}, mariaDBInstallDirs...)
	installDB := lookFor(mariaDBInstallNames, installDirs)
	if installDB == "" {
		return nil, &MissingDependencyError{Msg: fmt.Sprintf("found %s but none of %v", server, mariaDBInstallNames)}
	}
	m := &mariaDB{server: server, installDB: installDB, dir: dir, socket: filepath.Join(dir, "mysqld.sock")}
	if len(m.socket) > maxSocketPath {
		// Never used by the framework (it connects over TCP), but mariadbd refuses to start
		// without a socket it can bind.
		h := fnv.New64a()
		_, _ = h.Write([]byte(dir))
		m.socket = filepath.Join(os.TempDir(), fmt.Sprintf("pipelines-mariadb-%016x.sock", h.Sum64()))
	}
	return m, nil
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

func (m *mariaDB) path(name string) string { return filepath.Join(m.dir, name) }

func (m *mariaDB) logFile() string { return m.path("mariadb.log") }

func (m *mariaDB) addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(m.port)) }

// runAsArgs lets mariadbd run as root, which it refuses unless told so.
func runAsArgs() []string {
	if os.Geteuid() == 0 {
		return []string{"--user=root"}
	}
	return nil
}

// install creates the data directory unless an earlier run left one.
func (m *mariaDB) install(ctx context.Context) error {
	if _, err := os.Stat(m.path("data/mysql")); err == nil {
		return nil
	}
	for _, sub := range []string{"tmp", "data.install"} {
		if err := os.RemoveAll(m.path(sub)); err != nil {
			return err
		}
		if err := os.MkdirAll(m.path(sub), 0o700); err != nil {
			return err
		}
	}
	bootstrap := m.path("bootstrap.sql")
	if err := os.WriteFile(bootstrap, []byte(bootstrapSQL), 0o600); err != nil {
		return err
	}
	args := []string{
		"--no-defaults",
		"--basedir=" + filepath.Dir(filepath.Dir(m.server)),
		"--datadir=" + m.path("data.install"),
		"--tmpdir=" + m.path("tmp"),
		"--auth-root-authentication-method=normal",
		"--skip-test-db",
		"--skip-name-resolve",
		"--extra-file=" + bootstrap,
	}
	args = append(append(args, mariaDBSettings...), runAsArgs()...)
	ctx, cancel := context.WithTimeout(ctx, installTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, m.installDB, args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		lines := strings.SplitN(out.String(), "\n", 10)
		return fmt.Errorf("%s: %w; its output begins:\n%s", m.installDB, err, strings.Join(lines[:len(lines)-1], "\n"))
	}
	// Renamed only when complete, so an interrupted install is redone, not half used.
	return os.Rename(m.path("data.install"), m.path("data"))
}

func (m *mariaDB) args() []string {
	args := []string{
		"--no-defaults", // first, as mariadbd requires
		"--datadir=" + m.path("data"),
		"--socket=" + m.socket,
		"--pid-file=" + m.path("mysqld.pid"),
		"--log-error=" + m.logFile(),
		"--tmpdir=" + m.path("tmp"),
		"--port=" + strconv.Itoa(m.port),
		"--bind-address=127.0.0.1",
		"--skip-name-resolve",
	}
	return append(append(args, mariaDBSettings...), runAsArgs()...)
}

// start starts mariadbd, on a free port the first time and on the same port afterwards (the
// running pipelines-apiserver holds the address), waits until it accepts connections and
// makes sure the database and the server's account exist.
func (m *mariaDB) start(ctx context.Context, timeout time.Duration) error {
	if err := os.MkdirAll(m.path("tmp"), 0o700); err != nil {
		return err
	}
	fresh := m.port == 0
	for attempt := 1; ; attempt++ {
		if fresh {
			port, err := freePort()
			if err != nil {
				return err
			}
			m.port = port
		}
		p, err := startProcess("mariadbd", m.server, m.logFile(), m.args())
		if err != nil {
			return err
		}
		m.proc = p
		err = waitReady(ctx, p, timeout, m.ready)
		if err == nil {
			break
		}
		p.kill()
		inUse := strings.Contains(p.logTail(logTailLines), "Address already in use")
		if !inUse || attempt == startAttempts {
			return err
		}
		if !fresh {
			time.Sleep(time.Second) // the port is ours; whoever took it may let go
		}
	}
	return m.ensureAccount(ctx)
}

func (m *mariaDB) rootConfig() *mysql.Config {
	cfg := mysql.NewConfig()
	cfg.User = "root"
	cfg.Net = "tcp"
	cfg.Addr = m.addr()
	cfg.Timeout = 2 * time.Second
	cfg.InterpolateParams = true
	return cfg
}

func (m *mariaDB) withRoot(ctx context.Context, f func(*sql.DB) error) error {
	connector, err := mysql.NewConnector(m.rootConfig())
	if err != nil {
		return err
	}
	db := sql.OpenDB(connector)
	defer db.Close()
	return f(db)
}

func (m *mariaDB) ready(ctx context.Context) (bool, string) {
	err := m.withRoot(ctx, func(db *sql.DB) error { return db.PingContext(ctx) })
	if err != nil {
		return false, err.Error()
	}
	return true, ""
}

// ensureAccount creates the database and the server's account, whose password it keeps in
// <dir>/password, unless they exist.
func (m *mariaDB) ensureAccount(ctx context.Context) error {
	password, err := m.password()
	if err != nil {
		return err
	}
	statements := []string{
		"CREATE DATABASE IF NOT EXISTS " + DatabaseName,
		"CREATE USER IF NOT EXISTS '" + DatabaseUser + "'@'127.0.0.1' IDENTIFIED BY ?",
		"ALTER USER '" + DatabaseUser + "'@'127.0.0.1' IDENTIFIED BY ?",
		"GRANT ALL PRIVILEGES ON " + DatabaseName + ".* TO '" + DatabaseUser + "'@'127.0.0.1'",
	}
	return m.withRoot(ctx, func(db *sql.DB) error {
		for _, stmt := range statements {
			var args []any
			if strings.Contains(stmt, "?") {
				args = append(args, password)
			}
			if _, err := db.ExecContext(ctx, stmt, args...); err != nil {
				return fmt.Errorf("preparing database %s: %w", DatabaseName, err)
			}
		}
		return nil
	})
}

// password returns the server account's password, generating it on first use.
func (m *mariaDB) password() (string, error) {
	file := m.passwordFile()
	if data, err := os.ReadFile(file); err == nil {
		return strings.TrimSpace(string(data)), nil
	} else if !errors.Is(err, os.ErrNotExist) {
		return "", err
	}
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	password := hex.EncodeToString(b)
	if err := os.WriteFile(file, []byte(password+"\n"), 0o600); err != nil {
		return "", err
	}
	return password, nil
}

func (m *mariaDB) passwordFile() string { return m.path("password") }

// stop shuts mariadbd down cleanly.
func (m *mariaDB) stop() error {
	if m.proc == nil {
		return nil
	}
	return m.proc.stop(mariaDBStopGrace)
}

// dsn is a go-sql-driver DSN for the server's account, password included: for tests that
// look at the database directly. The server itself gets the password from a file.
func (m *mariaDB) dsn() (string, error) {
	password, err := m.password()
	if err != nil {
		return "", err
	}
	cfg := mysql.NewConfig()
	cfg.User, cfg.Passwd = DatabaseUser, password
	cfg.Net, cfg.Addr, cfg.DBName = "tcp", m.addr(), DatabaseName
	cfg.ParseTime = true
	return cfg.FormatDSN(), nil
}
