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
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"

	"k8s.io/klog/v2"
)

// migration is one versioned schema change. Migrations only ever get appended.
type migration struct {
	version     int
	description string
	statements  []string
}

// migrations build the engine's own tables. Keys are VARBINARY so that they compare
// byte by byte: continue keys end in "\x00", which collations with PAD SPACE or
// case folding would order differently from etcd.
var migrations = []migration{
	{1, "change log and metadata", []string{
		"CREATE TABLE IF NOT EXISTS " + logTable + ` (
			id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
			k VARBINARY(` + strconv.Itoa(maxKeySize) + `) NOT NULL,
			created BOOLEAN NOT NULL,
			deleted BOOLEAN NOT NULL,
			prev_revision BIGINT UNSIGNED NOT NULL,
			value LONGBLOB NULL,
			PRIMARY KEY (id)
		) ENGINE=InnoDB`,
		"CREATE TABLE IF NOT EXISTS " + metaTable + ` (
			name VARCHAR(64) NOT NULL,
			value BIGINT NOT NULL,
			PRIMARY KEY (name)
		) ENGINE=InnoDB`,
		"INSERT IGNORE INTO " + metaTable + " (name, value) VALUES ('compact_revision', 0), ('compacted_through', 0)",
		// Revisions start at 1, as in etcd: an empty store still has a valid resource version.
		"INSERT IGNORE INTO " + logTable + " (id, k, created, deleted, prev_revision, value) VALUES (1, '', 0, 0, 0, NULL)",
	}},
}

const schemaLock = "pipelines-apiserver-schema"

// withSchemaLock runs fn holding a named server lock, so replicas that start together
// apply migrations one after the other.
func withSchemaLock(ctx context.Context, d *dialect, fn func(conn *sql.Conn) error) error {
	conn, err := d.db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("connecting to the database: %w", err)
	}
	defer conn.Close()
	var got sql.NullInt64
	if err := d.queryRowOn(ctx, conn, stmtGetLock, []any{schemaLock, 60}, &got); err != nil {
		return fmt.Errorf("taking the schema lock: %w", err)
	}
	if !got.Valid || got.Int64 != 1 {
		return errors.New("timed out waiting for the schema lock held by another replica")
	}
	defer func() {
		var released sql.NullInt64
		// A fresh context: the lock must be released even when ctx is done.
		if err := d.queryRowOn(context.Background(), conn, stmtReleaseLock, []any{schemaLock}, &released); err != nil {
			klog.ErrorS(err, "Releasing the schema lock")
		}
	}()
	return fn(conn)
}

// migrate applies the migrations that the migrations table does not list yet.
func migrate(ctx context.Context, d *dialect) error {
	return withSchemaLock(ctx, d, func(conn *sql.Conn) error {
		if _, err := conn.ExecContext(ctx, "CREATE TABLE IF NOT EXISTS "+migrationsTable+` (
			version INT NOT NULL,
			description VARCHAR(255) NOT NULL,
			applied_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
			PRIMARY KEY (version)
		) ENGINE=InnoDB`); err != nil {
			return fmt.Errorf("creating %s: %w", migrationsTable, err)
		}
		applied := map[int]bool{}
		rows, err := conn.QueryContext(ctx, "SELECT version FROM "+migrationsTable)
		if err != nil {
			return fmt.Errorf("reading %s: %w", migrationsTable, err)
		}
		for rows.Next() {
			var v int
			if err := rows.Scan(&v); err != nil {
				rows.Close()
				return err
			}
			applied[v] = true
		}
		if err := rows.Close(); err != nil {
			return err
		}
		for _, m := range migrations {
			if applied[m.version] {
				continue
			}
			// MySQL commits DDL implicitly, so each statement is written to be idempotent
			// and the version is recorded last: a crash in between re-runs it harmlessly.
			for _, s := range m.statements {
				if _, err := conn.ExecContext(ctx, s); err != nil {
					return fmt.Errorf("migration %d (%s): %w", m.version, m.description, err)
				}
			}
			if _, err := conn.ExecContext(ctx, "INSERT INTO "+migrationsTable+" (version, description) VALUES (?, ?)",
				m.version, m.description); err != nil {
				return fmt.Errorf("recording migration %d: %w", m.version, err)
			}
			klog.InfoS("Applied storage migration", "version", m.version, "description", m.description)
		}
		return nil
	})
}

// backfillMarker names the metadata row that says a table's columns still need to be
// filled from the stored objects: written before the columns are added and deleted once
// they are filled, so that a backfill cut short (a crash, a timeout) is done again at the
// next start rather than leaving rows that no selector on those columns finds.
func backfillMarker(table string) string { return "backfill " + table }

// ensureTable creates a resource table, or adds the indexed columns it lacks. It says
// whether the table's columns must be backfilled from the stored objects (columns were
// added now, or a backfill before did not finish).
func ensureTable(ctx context.Context, d *dialect, t Table) (backfill bool, err error) {
	err = withSchemaLock(ctx, d, func(conn *sql.Conn) error {
		ddl := "CREATE TABLE IF NOT EXISTS " + t.Name + " (\n" +
			"k VARBINARY(" + strconv.Itoa(maxKeySize) + ") NOT NULL,\n" +
			"revision BIGINT UNSIGNED NOT NULL,\n" +
			"expires_at BIGINT NULL,\n"
		for _, c := range t.Columns {
			ddl += c.Name + " VARBINARY(" + strconv.Itoa(c.Size) + ") NOT NULL DEFAULT '',\n"
		}
		ddl += "PRIMARY KEY (k),\nKEY " + t.Name + "_expires_at (expires_at)"
		for _, c := range t.Columns {
			// The key is the second part so that a filtered page is read in key order from the index.
			ddl += ",\nKEY " + t.Name + "_" + c.Name + " (" + c.Name + ", k)"
		}
		ddl += "\n) ENGINE=InnoDB"
		if _, err := conn.ExecContext(ctx, ddl); err != nil {
			return fmt.Errorf("creating table %s: %w", t.Name, err)
		}
		have := map[string]bool{}
		rows, err := conn.QueryContext(ctx,
			"SELECT column_name FROM information_schema.columns WHERE table_schema = DATABASE() AND table_name = ?", t.Name)
		if err != nil {
			return fmt.Errorf("reading the columns of %s: %w", t.Name, err)
		}
		for rows.Next() {
			var name string
			if err := rows.Scan(&name); err != nil {
				rows.Close()
				return err
			}
			have[name] = true
		}
		if err := rows.Close(); err != nil {
			return err
		}
		for _, c := range t.Columns {
			if have[c.Name] {
				continue
			}
			if _, err := conn.ExecContext(ctx, "INSERT INTO "+metaTable+" (name, value) VALUES (?, 1) ON DUPLICATE KEY UPDATE value = 1",
				backfillMarker(t.Name)); err != nil {
				return fmt.Errorf("marking %s for a backfill: %w", t.Name, err)
			}
			if _, err := conn.ExecContext(ctx, "ALTER TABLE "+t.Name+" ADD COLUMN "+c.Name+" VARBINARY("+
				strconv.Itoa(c.Size)+") NOT NULL DEFAULT '', ADD KEY "+t.Name+"_"+c.Name+" ("+c.Name+", k)"); err != nil {
				return fmt.Errorf("adding column %s to %s: %w", c.Name, t.Name, err)
			}
			klog.InfoS("Added indexed column", "table", t.Name, "column", c.Name, "field", c.Field)
		}
		var pending int
		if err := conn.QueryRowContext(ctx, "SELECT COUNT(*) FROM "+metaTable+" WHERE name = ?", backfillMarker(t.Name)).Scan(&pending); err != nil {
			return fmt.Errorf("reading whether %s needs a backfill: %w", t.Name, err)
		}
		backfill = pending > 0
		return nil
	})
	return backfill, err
}
