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

package main

import (
	"context"
	"fmt"
	"time"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apiserver/pkg/authorization/authorizerfactory"
	serverstorage "k8s.io/apiserver/pkg/server/storage"
	"k8s.io/klog/v2"
	clocktesting "k8s.io/utils/clock/testing"

	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/apis/pipelines/v1beta1"
	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/apiserver"
	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/registry"
	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/registry/retention"
	mysqlstorage "github.com/pipelines-apiserver/pipelines-apiserver/pkg/storage/mysql"
)

// Workload names of the retention batches, and their size (the server's default
// --retention-batch-size).
const (
	retentionBatch = 500
	wlArchive      = "retention: one batch archiving 500 finished runs"
	wlDelete       = "retention: one batch deleting 500 archived runs"
)

// retentionBatches measures batches of retention among the stored runs, as the leader
// runs them (package registry/retention), in this process on a storage Backend of its
// own (a replica, to the database) and against the environment's kube-apiserver: first
// batches archiving runs that finished two days before a fake clock's now, under a
// one-day policy, then as many deleting them a week and a day later under a seven-day
// one. Each sample is one batch; the rate is batches per second. It changes
// batches × 500 of the stored runs, so it runs after every other measurement.
func (b *benchEnv) retentionBatches(ctx context.Context, batches, stored int, completed time.Time) ([]result, error) {
	dsn, err := b.env.DatabaseDSN()
	if err != nil {
		return nil, err
	}
	backend, err := mysqlstorage.NewBackend(ctx, mysqlstorage.Config{DSN: dsn, Tables: registry.Tables()})
	if err != nil {
		return nil, err
	}
	defer func() { _ = backend.Close() }()
	codec, _, err := serverstorage.NewStorageCodec(serverstorage.StorageCodecConfig{
		StorageMediaType: runtime.ContentTypeJSON, StorageSerializer: apiserver.Codecs,
		StorageVersion: v1beta1.SchemeGroupVersion,
		MemoryVersion:  schema.GroupVersion{Group: v1beta1.GroupName, Version: runtime.APIVersionInternal},
	})
	if err != nil {
		return nil, err
	}
	getter := &mysqlstorage.RESTOptionsGetter{Backend: backend, Prefix: "/registry", EnableGarbageCollection: true,
		DeleteCollectionWorkers: 1, Codec: func(schema.GroupResource) (runtime.Codec, error) { return codec, nil }}
	storage, _, err := registry.NewStorage(apiserver.Scheme, getter, authorizerfactory.NewAlwaysAllowAuthorizer(), nil, registry.Options{})
	if err != nil {
		return nil, err
	}
	var out []result
	for _, w := range []struct {
		workload string
		policy   retention.Policy
		now      time.Time
	}{
		{wlArchive, retention.Policy{ArchiveAfter: 24 * time.Hour}, completed.Add(48 * time.Hour)},
		{wlDelete, retention.Policy{DeleteAfter: 7 * 24 * time.Hour}, completed.Add(48*time.Hour + 8*24*time.Hour)},
	} {
		cfg := retention.Config{Default: w.policy, BatchSize: retentionBatch, Clock: clocktesting.NewFakeClock(w.now),
			Namespaces: b.env.ControlPlane().Client().CoreV1().Namespaces(), Kube: b.dyn}
		if err := registry.RunRetention(storage, &cfg); err != nil {
			return nil, err
		}
		r, err := retention.New(cfg)
		if err != nil {
			return nil, err
		}
		res := result{Workload: w.workload, Stored: stored, Target: targetServer}
		for i := range batches {
			begin := time.Now()
			did, err := r.Run(ctx)
			took := time.Since(begin)
			if err != nil {
				return nil, fmt.Errorf("%s, batch %d: %w", w.workload, i+1, err)
			}
			// Every run the index named is handled; one that changed meanwhile (nothing
			// should change them here) is skipped, and said so.
			if n := did.Archived + did.Deleted + did.Skipped; n != retentionBatch || did.Failed > 0 {
				return nil, fmt.Errorf("%s, batch %d: %+v, want %d runs", w.workload, i+1, did, retentionBatch)
			}
			if did.Skipped > 0 {
				klog.InfoS("Retention skipped runs that changed while it ran", "workload", w.workload, "batch", i+1, "result", did)
			}
			res.Samples = append(res.Samples, took)
			res.Wall += took
		}
		s := res.summary()
		klog.InfoS("Measured", "workload", w.workload, "stored", stored, "batches", s.Ops, "p50", s.P50, "p99", s.P99)
		out = append(out, res)
	}
	return out, nil
}
