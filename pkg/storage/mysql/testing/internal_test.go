package mysqltesting

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/go-sql-driver/mysql"
)

func TestDatabaseName(t *testing.T) {
	valid := regexp.MustCompile(`^mt_[a-z0-9_]+_[0-9a-f]{16}$`)
	seen := map[string]bool{}
	for _, testName := range []string{
		"TestX",
		"TestConformance/Watch/with_ÄÖ-unicode and spaces",
		strings.Repeat("TestVeryLongName", 10),
	} {
		for range 100 {
			name := databaseName(testName)
			if !valid.MatchString(name) || len(name) > 64 {
				t.Fatalf("databaseName(%q) = %q (%d chars): want [a-z0-9_], at most 64", testName, name, len(name))
			}
			if seen[name] {
				t.Fatalf("databaseName(%q) repeated %q", testName, name)
			}
			seen[name] = true
		}
	}
	if got := databaseName("TestFoo/Bar"); !strings.HasPrefix(got, "mt_testfoo_bar_") {
		t.Errorf("databaseName(TestFoo/Bar) = %q, want it to name the test", got)
	}
}

func TestCopySparseKeepsContent(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "src")
	var content []byte
	content = append(content, bytes.Repeat([]byte{0}, 200<<10)...) // leading hole
	content = append(content, []byte("innodb page")...)
	content = append(content, bytes.Repeat([]byte{0}, 300<<10)...) // trailing hole, unaligned end
	if err := os.WriteFile(src, content, 0o640); err != nil {
		t.Fatal(err)
	}
	dst := filepath.Join(dir, "dst")
	if err := copySparse(src, dst, 0o640); err != nil {
		t.Fatalf("copySparse: %v", err)
	}
	got, err := os.ReadFile(dst)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, content) {
		t.Fatalf("copy differs: %d bytes, want %d", len(got), len(content))
	}
	if info, err := os.Stat(dst); err != nil || info.Mode().Perm() != 0o640 {
		t.Errorf("copy mode = %v (err %v), want 0640", info.Mode().Perm(), err)
	}
	if err := copySparse(src, dst, 0o640); err == nil {
		t.Errorf("copySparse over an existing file succeeded; want an error rather than a silent overwrite")
	}
}

// skipRecorder stands in for a test to see whether a helper skips or fails it.
type skipRecorder struct {
	testing.TB
	mu      sync.Mutex
	outcome string
}

func (r *skipRecorder) Helper() {}
func (r *skipRecorder) Skipf(format string, args ...any) {
	r.record("skip: " + fmt.Sprintf(format, args...))
}
func (r *skipRecorder) Fatalf(format string, args ...any) {
	r.record("fatal: " + fmt.Sprintf(format, args...))
}
func (r *skipRecorder) record(s string) {
	r.mu.Lock()
	r.outcome = s
	r.mu.Unlock()
	runtime.Goexit()
}

// Not parallel: it swaps the search lists that every server start reads.
func TestMissingMariaDBSkipsOrFails(t *testing.T) {
	oldNames, oldDirs := serverNames, serverDirs
	t.Cleanup(func() { serverNames, serverDirs = oldNames, oldDirs })
	serverNames, serverDirs = []string{"mariadbd-not-installed"}, []string{t.TempDir()}
	t.Setenv("PATH", t.TempDir())

	_, err := findBinaries()
	var missing *missingDependencyError
	if !errors.As(err, &missing) {
		t.Fatalf("findBinaries without a server: err = %v, want a missing dependency", err)
	}
	for _, tc := range []struct {
		require string
		want    string
	}{
		{require: "", want: "skip: "},
		{require: "1", want: "fatal: "},
	} {
		t.Setenv(EnvRequireTestDeps, tc.require)
		rec := &skipRecorder{TB: t}
		done := make(chan struct{})
		go func() {
			defer close(done)
			failOrSkip(rec, err)
		}()
		<-done
		if !strings.HasPrefix(rec.outcome, tc.want) || !strings.Contains(rec.outcome, "run hack/ensure-mariadb.sh (as root it runs apt-get install -y mariadb-server)") {
			t.Errorf("%s=%q: outcome %q, want %q with the install hint", EnvRequireTestDeps, tc.require, rec.outcome, tc.want)
		}
	}
}

func BenchmarkStartPrivateServer(b *testing.B) {
	if _, err := findBinaries(); err != nil {
		failOrSkip(b, err)
	}
	for b.Loop() {
		p, err := newProcess()
		if err != nil {
			b.Fatal(err)
		}
		p.destroy()
	}
}

func TestStartReportsTakenPort(t *testing.T) {
	if _, err := findBinaries(); err != nil {
		failOrSkip(t, err)
	}
	t.Parallel()
	p, err := newProcess()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.destroy)
	if err := p.stop(); err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", p.addr())
	if err != nil {
		t.Fatalf("taking the stopped server's port: %v", err)
	}
	defer func() { _ = l.Close() }()
	if err := p.start(); !errors.Is(err, errPortInUse) {
		t.Fatalf("start on a taken port: err = %v, want errPortInUse", err)
	}
	_ = l.Close()
	if err := p.restart(); err != nil {
		t.Fatalf("restart once the port is free again: %v", err)
	}
}

// Not parallel: it sets MYSQL_TEST_DSN. A private server stands in for an existing one.
func TestServerFromEnvDSN(t *testing.T) {
	if _, err := findBinaries(); err != nil {
		failOrSkip(t, err)
	}
	p, err := newProcess()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.destroy)
	cfg := p.baseConfig()
	cfg.DBName = "ignored"
	cfg.Params = map[string]string{"sql_mode": "'STRICT_ALL_TABLES'"}
	t.Setenv(EnvDSN, cfg.FormatDSN())

	s, err := newSharedServer()
	if err != nil {
		t.Fatalf("server from %s: %v", EnvDSN, err)
	}
	if s.proc != nil || s.Addr() != p.addr() {
		t.Fatalf("server from %s: private=%v addr=%s, want the existing server at %s", EnvDSN, s.proc != nil, s.Addr(), p.addr())
	}
	got, err := mysql.ParseDSN(s.NewDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	if got.Addr != p.addr() || got.User != "root" || got.DBName == "ignored" || got.Params["sql_mode"] != "'STRICT_ALL_TABLES'" {
		t.Errorf("DSN from NewDatabase: addr=%s user=%s db=%s params=%v; want the env DSN's server, user and params with a new database",
			got.Addr, got.User, got.DBName, got.Params)
	}

	rec := &skipRecorder{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.Kill(rec)
	}()
	<-done
	if !strings.Contains(rec.outcome, EnvDSN) || !p.running() {
		t.Errorf("Kill on the %s server: outcome %q, server running %v; want a refusal naming %s", EnvDSN, rec.outcome, p.running(), EnvDSN)
	}

	t.Setenv(EnvDSN, "root:s3cret@tcp(127.0.0.1:1)/x?notaparam=%zz")
	if _, err := newSharedServer(); err == nil || strings.Contains(err.Error(), "s3cret") {
		t.Errorf("bad %s: err = %v; want an error that does not quote the password", EnvDSN, err)
	}
	t.Setenv(EnvDSN, "root:s3cret@tcp(127.0.0.1:1)/")
	if _, err := newSharedServer(); err == nil || strings.Contains(err.Error(), "s3cret") {
		t.Errorf("unreachable %s: err = %v; want an error that does not quote the password", EnvDSN, err)
	}
}
