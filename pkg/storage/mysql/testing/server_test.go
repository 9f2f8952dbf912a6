package mysqltesting_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net"
	"os"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"

	mysqltesting "github.com/pipelines-apiserver/pipelines-apiserver/pkg/storage/mysql/testing"
)

func TestMain(m *testing.M) {
	code := m.Run()
	mysqltesting.StopSharedServer()
	os.Exit(code)
}

func open(t *testing.T, dsn string) *sql.DB {
	t.Helper()
	db, err := sql.Open("mysql", dsn)
	if err != nil {
		t.Fatalf("sql.Open: %v", err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db
}

func mustExec(t *testing.T, db *sql.DB, query string, args ...any) {
	t.Helper()
	if _, err := db.ExecContext(context.Background(), query, args...); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
}

func databaseOf(t *testing.T, dsn string) string {
	t.Helper()
	cfg, err := mysql.ParseDSN(dsn)
	if err != nil {
		t.Fatalf("mysql.ParseDSN rejects the DSN from NewDatabase: %v", err)
	}
	return cfg.DBName
}

func schemaExists(t *testing.T, db *sql.DB, name string) bool {
	t.Helper()
	var n int
	err := db.QueryRow("SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?", name).Scan(&n)
	if err != nil {
		t.Fatalf("looking up schema %s: %v", name, err)
	}
	return n == 1
}

func TestSharedServerIsolatesDatabases(t *testing.T) {
	t.Parallel()
	srv := mysqltesting.SharedServer(t)
	if again := mysqltesting.SharedServer(t); again != srv {
		t.Fatalf("SharedServer returned %p, then %p: want one server per process", srv, again)
	}

	dsnA, dsnB := srv.NewDatabase(t), srv.NewDatabase(t)
	nameA, nameB := databaseOf(t, dsnA), databaseOf(t, dsnB)
	if nameA == nameB {
		t.Fatalf("two NewDatabase calls gave the same database %q", nameA)
	}
	cfg, _ := mysql.ParseDSN(dsnA)
	if !cfg.ParseTime {
		t.Errorf("DSN lacks parseTime=true")
	}

	a, b := open(t, dsnA), open(t, dsnB)
	mustExec(t, a, "CREATE TABLE kv (k VARCHAR(64) PRIMARY KEY, v BIGINT NOT NULL) ENGINE=InnoDB")
	mustExec(t, a, "INSERT INTO kv VALUES ('only-in-a', 1)")

	var myErr *mysql.MySQLError
	_, err := b.Exec("SELECT v FROM kv")
	if !errors.As(err, &myErr) || myErr.Number != 1146 { // ER_NO_SUCH_TABLE
		t.Fatalf("table created in %s is visible in %s: err = %v", nameA, nameB, err)
	}
	mustExec(t, b, "CREATE TABLE kv (k VARCHAR(64) PRIMARY KEY, v BIGINT NOT NULL) ENGINE=InnoDB")
	var n int
	if err := b.QueryRow("SELECT COUNT(*) FROM kv").Scan(&n); err != nil || n != 0 {
		t.Fatalf("fresh table in %s: count = %d, err = %v; want 0 rows", nameB, n, err)
	}
	var current string
	if err := a.QueryRow("SELECT DATABASE()").Scan(&current); err != nil || current != nameA {
		t.Fatalf("DSN for %s connects to %q (err %v)", nameA, current, err)
	}
	var charset string
	if err := a.QueryRow("SELECT @@character_set_database").Scan(&charset); err != nil || charset != "utf8mb4" {
		t.Errorf("database charset = %q (err %v), want utf8mb4", charset, err)
	}
}

func TestNewDatabaseIsDroppedAtCleanup(t *testing.T) {
	t.Parallel()
	srv := mysqltesting.SharedServer(t)
	var plain, locked string
	t.Run("owner", func(t *testing.T) {
		plain = databaseOf(t, srv.NewDatabase(t))
		// A test that leaks a pool with an open transaction holds a metadata lock on its table,
		// which would block DROP DATABASE for a day unless cleanup ends the session.
		dsn := srv.NewDatabase(t)
		locked = databaseOf(t, dsn)
		db, err := sql.Open("mysql", dsn) // deliberately never closed
		if err != nil {
			t.Fatal(err)
		}
		mustExec(t, db, "CREATE TABLE kv (k VARCHAR(64) PRIMARY KEY) ENGINE=InnoDB")
		tx, err := db.Begin()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tx.Exec("INSERT INTO kv VALUES ('held')"); err != nil {
			t.Fatal(err)
		}
	})
	check := open(t, srv.NewDatabase(t))
	for _, name := range []string{plain, locked} {
		if schemaExists(t, check, name) {
			t.Errorf("database %s still exists after its test's cleanup", name)
		}
	}
}

func TestNewDatabaseInParallel(t *testing.T) {
	t.Parallel()
	srv := mysqltesting.SharedServer(t)
	const n = 8
	names := make(chan string, n)
	// Parallel subtests run after this function returns; cleanup runs after they all finish.
	t.Cleanup(func() {
		close(names)
		seen := map[string]bool{}
		for name := range names {
			if seen[name] {
				t.Errorf("database %s handed out twice", name)
			}
			seen[name] = true
		}
		if len(seen) != n {
			t.Errorf("got %d databases, want %d", len(seen), n)
		}
	})
	for i := range n {
		t.Run(fmt.Sprintf("db%d", i), func(t *testing.T) {
			t.Parallel()
			dsn := srv.NewDatabase(t)
			if err := open(t, dsn).Ping(); err != nil {
				t.Errorf("ping %s: %v", databaseOf(t, dsn), err)
			}
			names <- databaseOf(t, dsn)
		})
	}
}

func TestPrivateServerKillKeepsCommittedRows(t *testing.T) {
	t.Parallel()
	srv := mysqltesting.StartPrivateServer(t)
	addr := srv.Addr()
	dsn := srv.NewDatabase(t)
	db := open(t, dsn)
	mustExec(t, db, "CREATE TABLE kv (k VARCHAR(64) PRIMARY KEY, v BIGINT NOT NULL) ENGINE=InnoDB")
	var engine string
	if err := db.QueryRow("SELECT ENGINE FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'kv'").Scan(&engine); err != nil || engine != "InnoDB" {
		t.Fatalf("table engine = %q (err %v), want InnoDB", engine, err)
	}
	mustExec(t, db, "INSERT INTO kv VALUES ('committed', 42)")
	tx, err := db.Begin()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec("INSERT INTO kv VALUES ('uncommitted', 7)"); err != nil {
		t.Fatal(err)
	}

	srv.Kill(t)
	if err := db.Ping(); err == nil {
		t.Fatalf("server still answers after Kill")
	}
	srv.Start(t)
	if srv.Addr() != addr {
		t.Fatalf("Start moved the server from %s to %s", addr, srv.Addr())
	}

	after := open(t, dsn)
	var v int64
	if err := after.QueryRow("SELECT v FROM kv WHERE k = 'committed'").Scan(&v); err != nil || v != 42 {
		t.Fatalf("committed row after kill -9: v = %d, err = %v; want 42", v, err)
	}
	err = after.QueryRow("SELECT v FROM kv WHERE k = 'uncommitted'").Scan(&v)
	if !errors.Is(err, sql.ErrNoRows) {
		t.Fatalf("uncommitted row after kill -9: v = %d, err = %v; want no row", v, err)
	}
}

func TestPrivateServerStopStartSamePort(t *testing.T) {
	t.Parallel()
	srv := mysqltesting.StartPrivateServer(t)
	addr := srv.Addr()
	dsn := srv.NewDatabase(t)
	mustExec(t, open(t, dsn), "CREATE TABLE kv (k VARCHAR(64) PRIMARY KEY) ENGINE=InnoDB")

	for round := range 2 {
		srv.Stop(t)
		if conn, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			_ = conn.Close()
			t.Fatalf("round %d: %s still accepts connections after Stop", round, addr)
		}
		srv.Start(t)
		if srv.Addr() != addr {
			t.Fatalf("round %d: Start moved the server from %s to %s", round, addr, srv.Addr())
		}
		db := open(t, dsn)
		mustExec(t, db, "INSERT INTO kv VALUES (?)", fmt.Sprintf("round-%d", round))
		var n int
		if err := db.QueryRow("SELECT COUNT(*) FROM kv").Scan(&n); err != nil || n != round+1 {
			t.Fatalf("round %d: %d rows (err %v), want %d", round, n, err, round+1)
		}
	}
}

// recordingTB stands in for a test so one can watch another helper fail it.
type recordingTB struct {
	testing.TB
	mu     sync.Mutex
	failed string
}

func (r *recordingTB) Helper() {}

func (r *recordingTB) Fatalf(format string, args ...any) {
	r.mu.Lock()
	r.failed = fmt.Sprintf(format, args...)
	r.mu.Unlock()
	runtime.Goexit()
}

func TestSharedServerRefusesProcessControl(t *testing.T) {
	t.Parallel()
	srv := mysqltesting.SharedServer(t)
	for name, control := range map[string]func(testing.TB){"Stop": srv.Stop, "Kill": srv.Kill, "Start": srv.Start} {
		rec := &recordingTB{TB: t}
		done := make(chan struct{})
		go func() {
			defer close(done)
			control(rec)
		}()
		<-done
		if !strings.Contains(rec.failed, "StartPrivateServer") {
			t.Errorf("%s on the shared server: failure %q, want one pointing to StartPrivateServer", name, rec.failed)
		}
	}
	// Still serving: the refused calls did nothing.
	if err := open(t, srv.NewDatabase(t)).Ping(); err != nil {
		t.Fatalf("shared server after refused process control: %v", err)
	}
}
