/*
Copyright 2026 The pipelines-apiserver Authors.

Licensed under the Apache License, Version 2.0 (the "License");
you may not use this file except in compliance with the License.
You may obtain a copy of the License at

    http://www.apache.org/licenses/LICENSE-2.0

Unless required by applicable law or agreed to in writing, software
distributed under the License is distributed on an "AS IS" BASIS,
WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
See the License for the specific language governing permissions and
limitations under the License.
*/

package options

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/spf13/pflag"

	mysqlstorage "github.com/pipelines-apiserver/pipelines-apiserver/pkg/storage/mysql"
)

func TestMySQLOptionsValidate(t *testing.T) {
	pwFile := filepath.Join(t.TempDir(), "pw")
	if err := os.WriteFile(pwFile, []byte("s3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		args []string
		want []string // substrings, one per expected error
	}{
		{"no server", nil, []string{"--mysql-host (or --mysql-dsn) is required"}},
		{"host", []string{"--mysql-host=db", "--mysql-password-file=" + pwFile}, nil},
		{"dsn", []string{"--mysql-dsn=u:p@tcp(db:3306)/pipelines"}, nil},
		{"both", []string{"--mysql-dsn=u:p@tcp(db:3306)/x", "--mysql-host=db"}, []string{"mutually exclusive"}},
		{"bad dsn hides password", []string{"--mysql-dsn=u:hunter2@tcp(db:3306"}, []string{"not a valid data source name"}},
		{"dsn without database", []string{"--mysql-dsn=u:p@tcp(db:3306)/"}, []string{"names no database"}},
		// DSN options that change what the storage engine assumes are refused by name
		// (pkg/storage/mysql's TestValidateDSN has the full table).
		{"dsn clientFoundRows", []string{"--mysql-dsn=u:hunter2@tcp(db:3306)/x?clientFoundRows=true"}, []string{"--mysql-dsn: clientFoundRows=true is not supported"}},
		{"dsn autocommit", []string{"--mysql-dsn=u:p@tcp(db:3306)/x?autocommit=0"}, []string{"autocommit"}},
		{"dsn sql_mode", []string{"--mysql-dsn=u:p@tcp(db:3306)/x?sql_mode=%27ORACLE%27"}, []string{"sql_mode"}},
		{"dsn isolation", []string{"--mysql-dsn=u:p@tcp(db:3306)/x?transaction_isolation=%27READ-UNCOMMITTED%27"}, []string{"transaction_isolation"}},
		{"dsn allowAllFiles", []string{"--mysql-dsn=u:p@tcp(db:3306)/x?allowAllFiles=true"}, []string{"allowAllFiles"}},
		{"dsn forced options", []string{"--mysql-dsn=u:p@tcp(db:3306)/x?interpolateParams=true&multiStatements=true&parseTime=true"}, nil},
		{"watch queue", []string{"--mysql-host=db", "--mysql-watch-queue-bytes=0"}, []string{"--mysql-watch-queue-bytes"}},
		{"decoded cache", []string{"--mysql-host=db", "--mysql-decoded-cache-bytes=-1"}, []string{"--mysql-decoded-cache-bytes"}},
		{"no decoded cache", []string{"--mysql-host=db", "--mysql-decoded-cache-bytes=0"}, nil},
		{"many at once", []string{"--mysql-host=db", "--mysql-port=0", "--mysql-max-open-conns=0",
			"--mysql-watch-poll-interval=0s", "--mysql-tls-cert-file=/nonexistent", "--mysql-prefix=registry"},
			[]string{"--mysql-port 0", "--mysql-max-open-conns", "--mysql-watch-poll-interval", "go together", "--mysql-tls-cert-file", "--mysql-prefix"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := NewMySQLOptions()
			fs := pflag.NewFlagSet("test", pflag.ContinueOnError)
			o.AddFlags(fs)
			if err := fs.Parse(tt.args); err != nil {
				t.Fatal(err)
			}
			errs := o.Validate()
			var msgs []string
			for _, e := range errs {
				msgs = append(msgs, e.Error())
				if strings.Contains(e.Error(), "hunter2") {
					t.Errorf("error leaks the password: %v", e)
				}
			}
			joined := strings.Join(msgs, "\n")
			for _, w := range tt.want {
				if !strings.Contains(joined, w) {
					t.Errorf("want an error containing %q, got:\n%s", w, joined)
				}
			}
			if len(tt.want) == 0 && len(errs) > 0 {
				t.Errorf("want no errors, got:\n%s", joined)
			}
			if len(tt.want) > 0 && len(errs) < len(tt.want) {
				t.Errorf("want %d errors, got %d:\n%s", len(tt.want), len(errs), joined)
			}
		})
	}
}

func TestMySQLOptionsApplyTo(t *testing.T) {
	pwFile := filepath.Join(t.TempDir(), "pw")
	if err := os.WriteFile(pwFile, []byte("p@ss:word/\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	o := NewMySQLOptions()
	o.Host, o.Port, o.User, o.Database, o.PasswordFile = "db.example", 3307, "kfp", "pipes", pwFile
	o.WatchPollInterval, o.HistoryRetention, o.WatchQueueBytes = 50*time.Millisecond, time.Hour, 1<<20
	var cfg mysqlstorage.Config
	if err := o.ApplyTo(&cfg); err != nil {
		t.Fatal(err)
	}
	parsed, err := mysql.ParseDSN(cfg.DSN)
	if err != nil {
		t.Fatalf("the built DSN does not parse: %v", err)
	}
	if parsed.Addr != "db.example:3307" || parsed.User != "kfp" || parsed.Passwd != "p@ss:word/" || parsed.DBName != "pipes" {
		t.Errorf("DSN fields: addr=%q user=%q db=%q password-ok=%v", parsed.Addr, parsed.User, parsed.DBName, parsed.Passwd == "p@ss:word/")
	}
	if parsed.ReadTimeout != o.StatementTimeout || parsed.Timeout != o.ConnectTimeout {
		t.Errorf("timeouts not applied: read=%s connect=%s", parsed.ReadTimeout, parsed.Timeout)
	}
	if cfg.PollInterval != 50*time.Millisecond || cfg.CompactionInterval != time.Hour || cfg.MaxOpenConns != 32 || cfg.WatchQueueBytes != 1<<20 ||
		cfg.DecodedCacheBytes != mysqlstorage.DefaultDecodedCacheBytes {
		t.Errorf("engine settings not applied: %+v", cfg)
	}
	// The flag's 0 keeps nothing decoded; the engine's own 0 would mean its default.
	o.DecodedCacheBytes = 0
	if err := o.ApplyTo(&cfg); err != nil || cfg.DecodedCacheBytes >= 0 {
		t.Errorf("--mysql-decoded-cache-bytes=0 gave the engine %d (%v), want a negative value: none", cfg.DecodedCacheBytes, err)
	}
}
