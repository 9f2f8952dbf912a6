package mysqltesting

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
)

const (
	// EnvDSN names an existing server for SharedServer: a go-sql-driver DSN whose user may
	// CREATE and DROP DATABASE. The database part of the DSN is ignored.
	EnvDSN = "MYSQL_TEST_DSN"
	// EnvRequireTestDeps set to "1" (as in CI) turns a missing MariaDB from a skip into a failure.
	EnvRequireTestDeps = "PIPELINES_REQUIRE_TESTDEPS"

	installHint = "run hack/ensure-mariadb.sh (as root it runs apt-get install -y mariadb-server)"

	// adminTimeout bounds CREATE DATABASE and the checks around it.
	adminTimeout = 30 * time.Second
	// dropLockWait bounds how long DROP DATABASE waits for metadata locks held by other sessions.
	dropLockWait = 30
	// mysqlErrUnknownThread is ER_NO_SUCH_THREAD: the session ended before KILL reached it.
	mysqlErrUnknownThread = 1094
)

// Server is a MariaDB server for tests: either the one named by MYSQL_TEST_DSN or a private mariadbd.
type Server struct {
	// base is how tests reach the server: user, password, address and any parameters of
	// MYSQL_TEST_DSN; no database selected.
	base *mysql.Config
	// proc is the private mariadbd; nil for MYSQL_TEST_DSN. The first node of a Galera cluster.
	proc *process
	// nodes are a Galera cluster's processes (EnvGalera), proc first; nil otherwise.
	nodes []*process
	// shared is set on the package-wide server; other tests use it at the same time,
	// so it refuses process control.
	shared bool
}

// missingDependencyError means MariaDB is not installed: tests skip, or fail under EnvRequireTestDeps.
type missingDependencyError struct{ msg string }

func (e *missingDependencyError) Error() string { return e.msg + "; " + installHint }

var shared struct {
	mu      sync.Mutex
	started bool
	srv     *Server
	err     error
}

// SharedServer returns the package-wide server, starting it on first use. Use it from tests.
// With MYSQL_TEST_DSN set it uses that server (a DSN with a user allowed to CREATE/DROP DATABASE);
// otherwise it starts a private mariadbd: temporary data dir (mariadb-install-db), a free 127.0.0.1 port,
// its own socket and pid file, --no-defaults, and settings fit for tests but still durable
// (innodb_flush_log_at_trx_commit=1, so kill -9 loses no committed write).
//
// The first call starts the server while holding a lock, as sync.Once would; a failed start is
// remembered, so the remaining tests fail or skip at once instead of each waiting for a timeout.
// Unlike sync.Once, StopSharedServer resets it.
func SharedServer(tb testing.TB) *Server {
	tb.Helper()
	shared.mu.Lock()
	defer shared.mu.Unlock()
	if !shared.started {
		shared.started = true
		began := time.Now()
		shared.srv, shared.err = newSharedServer()
		if shared.err == nil {
			tb.Logf("mysqltesting: shared server on %s ready in %v", shared.srv.Addr(), time.Since(began).Round(time.Millisecond))
		}
	}
	if shared.err != nil {
		failOrSkip(tb, shared.err)
	}
	return shared.srv
}

func newSharedServer() (*Server, error) {
	if os.Getenv(EnvGalera) == "1" {
		return newGaleraCluster()
	}
	if dsn := os.Getenv(EnvDSN); dsn != "" {
		return externalServer(dsn)
	}
	p, err := newProcess()
	if err != nil {
		return nil, err
	}
	return &Server{base: p.baseConfig(), proc: p, shared: true}, nil
}

// externalServer checks once that the server behind MYSQL_TEST_DSN answers, so a typo fails the
// first test with a clear message rather than every test with a dial error.
func externalServer(dsn string) (*Server, error) {
	cfg, err := mysql.ParseDSN(dsn)
	if err != nil {
		// The parse error may quote the DSN, password included.
		return nil, fmt.Errorf("%s is not a valid go-sql-driver DSN", EnvDSN)
	}
	cfg.DBName = ""
	s := &Server{base: cfg, shared: true}
	ctx, cancel := context.WithTimeout(context.Background(), adminTimeout)
	defer cancel()
	if err := s.withAdmin(ctx, func(db *sql.DB) error { return db.PingContext(ctx) }); err != nil {
		return nil, fmt.Errorf("%s: cannot reach %s as user %q: %w", EnvDSN, cfg.Addr, cfg.User, err)
	}
	return s, nil
}

// StopSharedServer stops the shared private server and removes its data dir. Call from TestMain after m.Run().
// It also removes this process's template data dir once no private server uses it.
func StopSharedServer() {
	shared.mu.Lock()
	defer shared.mu.Unlock()
	if shared.srv != nil && shared.srv.proc != nil {
		shared.srv.proc.destroy()
		for _, p := range shared.srv.nodes[min(1, len(shared.srv.nodes)):] {
			p.destroy()
		}
	}
	shared.started, shared.srv, shared.err = false, nil, nil
	removeWorkDirIfUnused()
}

// StartPrivateServer always starts a private mariadbd (even when MYSQL_TEST_DSN is set), stopped and removed
// at tb.Cleanup. For fault tests that need to stop, kill and restart the process.
func StartPrivateServer(tb testing.TB) *Server {
	tb.Helper()
	began := time.Now()
	p, err := newProcess()
	if err != nil {
		failOrSkip(tb, err)
	}
	tb.Cleanup(p.destroy)
	tb.Logf("mysqltesting: private server on %s ready in %v", p.addr(), time.Since(began).Round(time.Millisecond))
	return &Server{base: p.baseConfig(), proc: p}
}

func failOrSkip(tb testing.TB, err error) {
	tb.Helper()
	var missing *missingDependencyError
	if errors.As(err, &missing) && os.Getenv(EnvRequireTestDeps) != "1" {
		tb.Skipf("mysqltesting: %v", err)
	}
	tb.Fatalf("mysqltesting: %v", err)
}

// NewDatabase creates a fresh, uniquely named database on the server, registers tb.Cleanup to drop it,
// and returns a go-sql-driver DSN for it with parseTime=true. Each test gets its own database so
// tests and packages run in parallel.
//
// The database takes the server's default character set and collation (utf8mb4, case-insensitive,
// as packaged MariaDB ships): storage code must not rely on a friendlier test setting.
func (s *Server) NewDatabase(tb testing.TB) string {
	tb.Helper()
	name := databaseName(tb.Name())
	ctx, cancel := context.WithTimeout(context.Background(), adminTimeout)
	defer cancel()
	err := s.withAdmin(ctx, func(db *sql.DB) error {
		_, err := db.ExecContext(ctx, "CREATE DATABASE "+quoteIdent(name))
		return err
	})
	if err != nil {
		tb.Fatalf("mysqltesting: creating database %s on %s: %v", name, s.Addr(), err)
	}
	tb.Cleanup(func() { s.dropDatabase(tb, name) })

	cfg := s.base.Clone()
	cfg.DBName = name
	cfg.ParseTime = true
	return cfg.FormatDSN()
}

func (s *Server) dropDatabase(tb testing.TB, name string) {
	if s.proc != nil && !s.proc.running() {
		// A fault test left its private server down; the data dir goes with the server.
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*dropLockWait*time.Second)
	defer cancel()
	if err := s.withAdmin(ctx, func(db *sql.DB) error { return dropDatabase(ctx, db, name) }); err != nil {
		tb.Errorf("mysqltesting: dropping database %s on %s: %v", name, s.Addr(), err)
	}
}

// dropDatabase ends the sessions still using the database before dropping it: a test that did not
// close its pool, or left a transaction open, holds metadata locks that would make DROP wait for
// lock_wait_timeout, a day by default. Sessions that reach the database from another default
// database are not found this way, hence the bounded wait as well.
func dropDatabase(ctx context.Context, db *sql.DB, name string) error {
	conn, err := db.Conn(ctx)
	if err != nil {
		return err
	}
	defer func() { _ = conn.Close() }()

	ids, err := sessionsUsing(ctx, conn, name)
	if err != nil {
		return fmt.Errorf("listing sessions: %w", err)
	}
	for _, id := range ids {
		_, err := conn.ExecContext(ctx, "KILL CONNECTION "+strconv.FormatUint(id, 10))
		var myErr *mysql.MySQLError
		if err != nil && !(errors.As(err, &myErr) && myErr.Number == mysqlErrUnknownThread) {
			return fmt.Errorf("ending session %d: %w", id, err)
		}
	}
	if _, err := conn.ExecContext(ctx, "SET SESSION lock_wait_timeout = "+strconv.Itoa(dropLockWait)); err != nil {
		return err
	}
	_, err = conn.ExecContext(ctx, "DROP DATABASE IF EXISTS "+quoteIdent(name))
	return err
}

func sessionsUsing(ctx context.Context, conn *sql.Conn, name string) ([]uint64, error) {
	rows, err := conn.QueryContext(ctx,
		"SELECT ID FROM information_schema.PROCESSLIST WHERE DB = ? AND ID <> CONNECTION_ID()", name)
	if err != nil {
		return nil, err
	}
	defer func() { _ = rows.Close() }()
	var ids []uint64
	for rows.Next() {
		var id uint64
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

// withAdmin runs f on a short-lived pool: admin work is rare, and a pool kept across a Kill
// would only hold dead connections.
func (s *Server) withAdmin(ctx context.Context, f func(*sql.DB) error) error {
	cfg := s.base.Clone()
	cfg.DBName = ""
	if cfg.Timeout == 0 {
		cfg.Timeout = 5 * time.Second
	}
	connector, err := mysql.NewConnector(cfg)
	if err != nil {
		return err
	}
	db := sql.OpenDB(connector)
	defer func() { _ = db.Close() }()
	return f(db)
}

// Stop shuts the private server down cleanly and waits for it to exit.
func (s *Server) Stop(tb testing.TB) {
	tb.Helper()
	if err := s.controllable(tb).stop(); err != nil {
		tb.Fatalf("mysqltesting: stopping server on %s: %v", s.Addr(), err)
	}
}

// Kill sends SIGKILL to the private server and waits for it to exit.
func (s *Server) Kill(tb testing.TB) {
	tb.Helper()
	if err := s.controllable(tb).kill(); err != nil {
		tb.Fatalf("mysqltesting: killing server on %s: %v", s.Addr(), err)
	}
}

// Start starts the private server again on the same port and data dir, and waits until it accepts
// connections (after a Kill, that includes InnoDB crash recovery).
func (s *Server) Start(tb testing.TB) {
	tb.Helper()
	began := time.Now()
	if err := s.controllable(tb).restart(); err != nil {
		tb.Fatalf("mysqltesting: restarting server on %s: %v", s.Addr(), err)
	}
	tb.Logf("mysqltesting: server on %s restarted in %v", s.Addr(), time.Since(began).Round(time.Millisecond))
}

func (s *Server) controllable(tb testing.TB) *process {
	tb.Helper()
	switch {
	case s.proc == nil:
		tb.Fatalf("mysqltesting: the server from %s cannot be stopped or started by tests; use StartPrivateServer", EnvDSN)
	case s.shared:
		tb.Fatalf("mysqltesting: the shared server is in use by other tests and cannot be stopped or started; use StartPrivateServer")
	}
	return s.proc
}

// Addr returns the server's host:port.
func (s *Server) Addr() string {
	if s.proc != nil {
		return s.proc.addr()
	}
	return s.base.Addr
}

// databaseName makes a name that tells which test owns a database on a shared server and does not
// collide across tests or test processes. Only [a-z0-9_], so it needs no quoting and is safe with
// lower_case_table_names; at most 60 characters of MariaDB's 64.
func databaseName(testName string) string {
	const maxFromTest = 40
	var b strings.Builder
	b.WriteString("mt_")
	for _, r := range strings.ToLower(testName) {
		if b.Len() >= len("mt_")+maxFromTest {
			break
		}
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	fmt.Fprintf(&b, "_%016x", rand.Uint64())
	return b.String()
}

func quoteIdent(name string) string {
	return "`" + strings.ReplaceAll(name, "`", "``") + "`"
}
