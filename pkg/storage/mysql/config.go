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

package mysql

import (
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/go-sql-driver/mysql"

	"k8s.io/apimachinery/pkg/util/validation/field"
)

// Config is everything the engine needs to open a database. It is filled by the
// command-line options (pkg/cmd/options) and by tests.
type Config struct {
	// DSN is a go-sql-driver/mysql data source name. It is never logged.
	DSN string
	// MaxOpenConns and MaxIdleConns size the connection pool.
	MaxOpenConns int
	MaxIdleConns int
	// ConnMaxLifetime recycles connections, so a fail-over behind a proxy is picked up.
	ConnMaxLifetime time.Duration

	// PollInterval is how often the change-log tail looks for commits made by other
	// processes. Commits made by this process wake the tail at once.
	PollInterval time.Duration
	// CompactionInterval is how often history older than one interval is compacted.
	// Zero disables background compaction.
	CompactionInterval time.Duration
	// BookmarkInterval is how often watchers that allow bookmarks receive one.
	BookmarkInterval time.Duration
	// WatchQueueBytes bounds the events one watch may hold for a client that does not
	// keep up (keys and stored values); past it the watch is ended and the client resumes
	// from the last revision it received. One event is always let through.
	WatchQueueBytes int64
	// DecodedCacheBytes bounds the stored size of the objects the backend keeps decoded
	// (all resources together), so that reading a version already decoded (a page polled
	// again, an object just written, one event for several watchers) copies it instead of
	// parsing it again. Zero means DefaultDecodedCacheBytes; a negative value keeps none.
	DecodedCacheBytes int64
	// TTLSweepInterval is how often expired keys (created with a TTL) are deleted.
	TTLSweepInterval time.Duration

	// Tables maps resource prefixes to their own tables and indexed columns.
	// Resources without an entry share DefaultTable.
	Tables []Table
}

// Table describes the table that holds one resource and the fields copied out of the
// object into indexed columns, so that field selectors on them become SQL conditions.
type Table struct {
	// ResourcePrefix is the registry's resource prefix, e.g. "/pipelines.kubeflow.org/runs".
	ResourcePrefix string
	// Name is the SQL table name.
	Name string
	// Columns are the indexed fields.
	Columns []Column
}

// Column is one field of the object stored in its own indexed column.
type Column struct {
	// Field is the field selector name, e.g. "spec.experimentName".
	Field string
	// Name is the SQL column name.
	Name string
	// Size is the largest value in bytes; longer values are rejected on write.
	Size int
}

// DefaultTable holds every resource that has no table of its own.
const DefaultTable = "objects"

// maxKeySize bounds storage keys; it fits InnoDB's 3072-byte index limit with room to spare.
const maxKeySize = 1024

// identifier restricts table and column names to what can be spliced into SQL text safely:
// they come from code, never from requests, and this check keeps it that way.
var identifier = regexp.MustCompile(`^[a-z][a-z0-9_]{0,47}$`)

// reservedTables are the engine's own tables.
var reservedTables = map[string]bool{logTable: true, metaTable: true, migrationsTable: true}

// reservedColumns are the columns every resource table has.
var reservedColumns = map[string]bool{"k": true, "revision": true, "expires_at": true}

// Complete fills in defaults.
func (c *Config) Complete() {
	if c.MaxOpenConns == 0 {
		c.MaxOpenConns = 32
	}
	if c.MaxIdleConns == 0 {
		c.MaxIdleConns = c.MaxOpenConns
	}
	if c.ConnMaxLifetime == 0 {
		c.ConnMaxLifetime = 10 * time.Minute
	}
	if c.PollInterval == 0 {
		c.PollInterval = 100 * time.Millisecond
	}
	if c.BookmarkInterval == 0 {
		c.BookmarkInterval = time.Minute
	}
	if c.TTLSweepInterval == 0 {
		c.TTLSweepInterval = time.Second
	}
	if c.WatchQueueBytes == 0 {
		c.WatchQueueBytes = DefaultWatchQueueBytes
	}
	if c.DecodedCacheBytes == 0 {
		c.DecodedCacheBytes = DefaultDecodedCacheBytes
	}
}

// DefaultWatchQueueBytes is the default of Config.WatchQueueBytes.
const DefaultWatchQueueBytes = 16 << 20

// DefaultDecodedCacheBytes is the default of Config.DecodedCacheBytes: about 5,000 runs
// of the size make bench stores.
const DefaultDecodedCacheBytes = 8 << 20

// Validate reports every problem in the configuration at once.
func (c *Config) Validate() error {
	var errs field.ErrorList
	if c.DSN == "" {
		errs = append(errs, field.Required(field.NewPath("dsn"), "a database to connect to"))
	} else if err := ValidateDSN(c.DSN); err != nil {
		// The DSN is not quoted: it may hold a password.
		errs = append(errs, field.Invalid(field.NewPath("dsn"), "<hidden>", err.Error()))
	}
	if c.MaxOpenConns < 1 {
		errs = append(errs, field.Invalid(field.NewPath("maxOpenConns"), c.MaxOpenConns, "must be at least 1"))
	}
	if c.MaxIdleConns < 0 || c.MaxIdleConns > c.MaxOpenConns {
		errs = append(errs, field.Invalid(field.NewPath("maxIdleConns"), c.MaxIdleConns, "must be between 0 and maxOpenConns"))
	}
	if c.PollInterval <= 0 {
		errs = append(errs, field.Invalid(field.NewPath("pollInterval"), c.PollInterval.String(), "must be positive"))
	}
	if c.WatchQueueBytes < 0 {
		errs = append(errs, field.Invalid(field.NewPath("watchQueueBytes"), c.WatchQueueBytes, "must not be negative"))
	}
	if c.CompactionInterval < 0 {
		errs = append(errs, field.Invalid(field.NewPath("compactionInterval"), c.CompactionInterval.String(), "must not be negative"))
	}
	errs = append(errs, validateTables(c.Tables)...)
	if len(errs) > 0 {
		return fmt.Errorf("invalid MySQL storage configuration: %w", errs.ToAggregate())
	}
	return nil
}

// validateTables checks the names the engine splices into SQL text.
func validateTables(tables []Table) field.ErrorList {
	var errs field.ErrorList
	prefixes := map[string]bool{}
	names := map[string]bool{DefaultTable: true}
	for i, t := range tables {
		p := field.NewPath("tables").Index(i)
		if t.ResourcePrefix == "" || t.ResourcePrefix[0] != '/' {
			errs = append(errs, field.Invalid(p.Child("resourcePrefix"), t.ResourcePrefix, "must start with /"))
		} else if prefixes[t.ResourcePrefix] {
			errs = append(errs, field.Duplicate(p.Child("resourcePrefix"), t.ResourcePrefix))
		}
		prefixes[t.ResourcePrefix] = true
		switch {
		case !identifier.MatchString(t.Name):
			errs = append(errs, field.Invalid(p.Child("name"), t.Name, "must match "+identifier.String()))
		case reservedTables[t.Name] || names[t.Name]:
			errs = append(errs, field.Duplicate(p.Child("name"), t.Name))
		}
		names[t.Name] = true
		cols := map[string]bool{}
		for j, col := range t.Columns {
			cp := p.Child("columns").Index(j)
			if col.Field == "" {
				errs = append(errs, field.Required(cp.Child("field"), ""))
			}
			if !identifier.MatchString(col.Name) || reservedColumns[col.Name] || cols[col.Name] {
				errs = append(errs, field.Invalid(cp.Child("name"), col.Name, "must be a unique identifier matching "+identifier.String()+" and not k, revision or expires_at"))
			}
			cols[col.Name] = true
			if col.Size < 1 || col.Size > 768 {
				errs = append(errs, field.Invalid(cp.Child("size"), col.Size, "must be between 1 and 768 bytes"))
			}
		}
	}
	return errs
}

// refusedParams are session settings a DSN may not change, with why: the engine's
// statements are written for the server's defaults of each (see docs/storage.md).
var refusedParams = map[string]string{
	"autocommit": "statements outside a transaction must commit on their own: the change-log tail, " +
		"fillers, durability barriers and compaction are single statements",
	"sql_mode": "the statements assume the server's SQL mode (EMPTY_STRING_IS_NULL or ORACLE, for one, " +
		"would break the change log's filler rows)",
	"transaction_isolation": "the change-log tail must never read uncommitted rows, and writes are " +
		"written for REPEATABLE READ; set the isolation on the server if at all",
	"tx_isolation":          "the change-log tail must never read uncommitted rows, and writes are written for REPEATABLE READ",
	"transaction_read_only": "the engine writes on every connection",
	"tx_read_only":          "the engine writes on every connection",
}

// ValidateDSN checks that a go-sql-driver DSN leaves the engine's assumptions about its
// connections alone. Its errors name the option and never quote the DSN, which may
// hold a password. interpolateParams and multiStatements are not refused: NewBackend
// turns both off.
func ValidateDSN(dsn string) error {
	cfg, err := mysql.ParseDSN(dsn)
	if err != nil {
		// The parse error may quote the DSN, and with it a password: say only what is wrong.
		return errors.New("not a valid data source name: it must be of the form user:password@tcp(host:port)/database?options")
	}
	var problems []string
	if cfg.DBName == "" {
		problems = append(problems, "it names no database")
	}
	if cfg.ClientFoundRows {
		problems = append(problems, "clientFoundRows=true is not supported: the engine tells a new key from an "+
			"existing one by the rows an INSERT ... ON DUPLICATE KEY UPDATE affected, which it changes")
	}
	if cfg.AllowAllFiles {
		problems = append(problems, "allowAllFiles=true is not supported: it would let the database server "+
			"read any file of this process (LOAD DATA LOCAL INFILE), which the engine never needs")
	}
	var params []string
	for name := range cfg.Params {
		params = append(params, name)
	}
	sort.Strings(params)
	for _, name := range params {
		if why, ok := refusedParams[strings.ToLower(name)]; ok {
			problems = append(problems, fmt.Sprintf("%s may not be set in the DSN: %s", name, why))
		}
	}
	if len(problems) > 0 {
		return errors.New(strings.Join(problems, "; "))
	}
	return nil
}
