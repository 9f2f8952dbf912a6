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
	"strings"
	"testing"
	"time"

	"k8s.io/apiserver/pkg/apis/example"
	"k8s.io/apiserver/pkg/storage"

	mysqltesting "github.com/pipelines-apiserver/pipelines-apiserver/pkg/storage/mysql/testing"
)

// TestValidateDSN: options that change what the engine assumes of its connections are
// refused, naming the option and never quoting the password; the others pass.
func TestValidateDSN(t *testing.T) {
	const base = "u:hunter2@tcp(db:3306)/pipelines"
	tests := []struct {
		params string
		want   string // a substring of the error; "" for none
	}{
		{"", ""},
		{"parseTime=true&loc=UTC", ""}, // the engine scans no time values
		{"interpolateParams=true", ""}, // forced off by NewBackend
		{"multiStatements=true", ""},   // forced off by NewBackend
		{"time_zone=%27%2B00:00%27", ""},
		{"columnsWithAlias=true&rejectReadOnly=true&timeout=1s", ""},
		{"clientFoundRows=true", "clientFoundRows"},
		{"allowAllFiles=true", "allowAllFiles"},
		{"autocommit=0", "autocommit"},
		{"sql_mode=%27ORACLE%27", "sql_mode"},
		{"SQL_MODE=%27%27", "SQL_MODE"},
		{"transaction_isolation=%27READ-UNCOMMITTED%27", "transaction_isolation"},
		{"tx_isolation=%27READ-UNCOMMITTED%27", "tx_isolation"},
		{"transaction_read_only=1", "transaction_read_only"},
		{"tx_read_only=1", "tx_read_only"},
	}
	for _, tt := range tests {
		t.Run(tt.params, func(t *testing.T) {
			dsn := base
			if tt.params != "" {
				dsn += "?" + tt.params
			}
			err := ValidateDSN(dsn)
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("refused: %v", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Errorf("got %v, want an error naming %s", err, tt.want)
			case err != nil && strings.Contains(err.Error(), "hunter2"):
				t.Errorf("the error quotes the password: %v", err)
			}
			// The engine's own configuration refuses the same, for library users.
			cfg := Config{DSN: dsn}
			cfg.Complete()
			if verr := cfg.Validate(); (verr != nil) != (tt.want != "") || (verr != nil && strings.Contains(verr.Error(), "hunter2")) {
				t.Errorf("Config.Validate: %v", verr)
			}
		})
	}
	for _, bad := range []string{"u:hunter2@tcp(db:3306", "u:hunter2@tcp(db:3306)/"} {
		if err := ValidateDSN(bad); err == nil || strings.Contains(err.Error(), "hunter2") {
			t.Errorf("ValidateDSN of a broken DSN: %v", err)
		}
	}
}

// TestForcedDSNOptions: interpolateParams and multiStatements in a DSN are turned off,
// and the Backend works as without them.
func TestForcedDSNOptions(t *testing.T) {
	dsn := withParam(mysqltesting.SharedServer(t).NewDatabase(t), "interpolateParams=true&multiStatements=true")
	b := testBackend(t, dsn)
	s := newPodStore(t, b, defaultSetup())
	ctx := context.Background()
	if err := s.Create(ctx, podKey(testPod(0)), testPod(0), nil, 0); err != nil {
		t.Fatal(err)
	}
	var semicolonsRun int
	// With multiStatements off, a second statement in one request is a syntax error.
	err := b.db.QueryRowContext(ctx, "SELECT 1; SELECT 2").Scan(&semicolonsRun)
	if err == nil {
		t.Error("a request of two statements ran: multiStatements was not turned off")
	}
}

// withParam adds a parameter to a DSN.
func withParam(dsn, param string) string {
	if strings.Contains(dsn, "?") {
		return dsn + "&" + param
	}
	return dsn + "?" + param
}

// TestClientFoundRowsCannotOverwrite: with clientFoundRows=true in the DSN, MySQL counts
// a row that ON DUPLICATE KEY UPDATE k = k left alone as affected, so a batch of creates
// holding an existing key looked fully inserted and stamped the existing row with the new
// object. The Backend must refuse that DSN; if it opens, a batched create over an existing
// key must be AlreadyExists and leave the object as it was.
func TestClientFoundRowsCannotOverwrite(t *testing.T) {
	dsn := withParam(mysqltesting.SharedServer(t).NewDatabase(t), "clientFoundRows=true")
	ctx := context.Background()
	b, err := NewBackend(ctx, Config{DSN: dsn, PollInterval: 20 * time.Millisecond, Tables: []Table{podsTable}})
	if err != nil {
		if !strings.Contains(err.Error(), "clientFoundRows") {
			t.Fatalf("NewBackend refused the DSN without naming clientFoundRows: %v", err)
		}
		return
	}
	defer func() { _ = b.Close() }()
	s := newPodStore(t, b, defaultSetup())
	original := testPod(0)
	original.Labels = map[string]string{"v": "original"}
	if err := s.Create(ctx, podKey(original), original, nil, 0); err != nil {
		t.Fatal(err)
	}
	overwrite := testPod(0)
	overwrite.Labels = map[string]string{"v": "overwritten"}

	// Both creates queue behind busy slots, then go as one batch.
	s.creates.mu.Lock()
	s.creates.running = createSlots
	s.creates.mu.Unlock()
	results := map[string]chan error{}
	for _, p := range []*example.Pod{overwrite, testPod(1)} {
		ch := make(chan error, 1)
		results[p.Name] = ch
		go func() { ch <- s.Create(ctx, podKey(p), p, nil, 0) }()
	}
	for queued := 0; queued < 2; time.Sleep(10 * time.Millisecond) {
		s.creates.mu.Lock()
		queued = len(s.creates.queue)
		s.creates.mu.Unlock()
	}
	s.creates.mu.Lock()
	batch := s.creates.take()
	s.creates.running = 0
	s.creates.mu.Unlock()
	if len(batch) != 2 {
		t.Fatalf("batch of %d creates, want 2", len(batch))
	}
	s.writeBatch(batch)
	if err := <-results[overwrite.Name]; !storage.IsExist(err) {
		t.Errorf("batched create of an existing key: %v, want AlreadyExists", err)
	}
	if err := <-results["pod-1"]; err != nil {
		t.Errorf("batched create of a new key: %v", err)
	}
	got := &example.Pod{}
	if err := s.Get(ctx, podKey(original), storage.GetOptions{}, got); err != nil {
		t.Fatal(err)
	}
	if got.Labels["v"] != "original" {
		t.Errorf("the existing object was overwritten by a create: labels %v", got.Labels)
	}
}
