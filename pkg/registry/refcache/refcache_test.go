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

package refcache

import (
	"context"
	"fmt"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/apimachinery/pkg/util/wait"
	genericapirequest "k8s.io/apiserver/pkg/endpoints/request"
	"k8s.io/apiserver/pkg/registry/rest"
	serverstorage "k8s.io/apiserver/pkg/server/storage"

	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/apis/pipelines"
	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/apis/pipelines/install"
	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/apis/pipelines/v1beta1"
	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/registry/experiment"
	mysqlstorage "github.com/pipelines-apiserver/pipelines-apiserver/pkg/storage/mysql"
	mysqltesting "github.com/pipelines-apiserver/pipelines-apiserver/pkg/storage/mysql/testing"
)

// experiments is the experiments' registry on a database of its own, its storage
// wrapped for c.
func experiments(t *testing.T, c *Cache) (*experiment.REST, context.Context) {
	t.Helper()
	return experimentsOn(t, mysqltesting.SharedServer(t).NewDatabase(t), c)
}

// experimentsOn is the experiments' registry on the database of dsn, as one replica.
func experimentsOn(t *testing.T, dsn string, c *Cache) (*experiment.REST, context.Context) {
	t.Helper()
	scheme := runtime.NewScheme()
	install.Install(scheme)
	codecs := serializer.NewCodecFactory(scheme)
	backend, err := mysqlstorage.NewBackend(t.Context(), mysqlstorage.Config{DSN: dsn,
		PollInterval: 20 * time.Millisecond, Tables: []mysqlstorage.Table{experiment.Table}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = backend.Close() })
	getter := RESTOptionsGetter{Caches: map[schema.GroupResource]*Cache{pipelines.Resource("experiments"): c},
		RESTOptionsGetter: &mysqlstorage.RESTOptionsGetter{Backend: backend, Prefix: "/registry",
			Codec: func(gr schema.GroupResource) (runtime.Codec, error) {
				codec, _, err := serverstorage.NewStorageCodec(serverstorage.StorageCodecConfig{
					StorageMediaType: runtime.ContentTypeJSON, StorageSerializer: codecs, StorageVersion: v1beta1.SchemeGroupVersion,
					MemoryVersion: schema.GroupVersion{Group: gr.Group, Version: runtime.APIVersionInternal},
				})
				return codec, err
			}}}
	store, _, err := experiment.NewREST(scheme, getter)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(store.Destroy)
	return store, genericapirequest.WithNamespace(t.Context(), "team-a")
}

func createExperiment(t *testing.T, ctx context.Context, store *experiment.REST, name string) {
	t.Helper()
	if _, err := store.Create(ctx, &pipelines.Experiment{ObjectMeta: metav1.ObjectMeta{Name: name}}, rest.ValidateAllObjectFunc,
		&metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

func waitHeld(t *testing.T, c *Cache, want int, wantSynced bool) {
	t.Helper()
	var n int
	var synced bool
	err := wait.PollUntilContextTimeout(t.Context(), 10*time.Millisecond, 10*time.Second, true, func(context.Context) (bool, error) {
		n, synced = c.Held()
		return n == want && synced == wantSynced, nil
	})
	if err != nil {
		t.Fatalf("the cache holds %d objects (answering from them: %v), want %d (%v)", n, synced, want, wantSynced)
	}
}

// TestCacheIsBounded: a tenant who creates more experiments than the bound does not grow
// the cache past it; lookups then read the storage and still find what exists and miss
// what does not.
func TestCacheIsBounded(t *testing.T) {
	c := New("experiments", nil, 3)
	store, ctx := experiments(t, c)
	get := c.Getter(store)
	for i := range 3 {
		createExperiment(t, ctx, store, fmt.Sprintf("e%d", i))
	}
	waitHeld(t, c, 3, true)
	// The fourth, seen by the watch, is one too many.
	createExperiment(t, ctx, store, "e3")
	waitHeld(t, c, 0, false)
	for _, name := range []string{"e0", "e3"} {
		if _, err := get.Get(ctx, name, &metav1.GetOptions{}); err != nil {
			t.Errorf("%s, read from the storage past the bound: %v", name, err)
		}
	}
	if _, err := get.Get(ctx, "absent", &metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("an absent experiment: got %v, want not found", err)
	}
}

// TestCacheOverBoundAtList: a resource already past the bound when the cache lists is
// not held; once it is back within the bound, the next list holds it again.
func TestCacheOverBoundAtList(t *testing.T) {
	dsn := mysqltesting.SharedServer(t).NewDatabase(t)
	store, ctx := experimentsOn(t, dsn, New("experiments", nil, 0))
	for i := range 3 {
		createExperiment(t, ctx, store, fmt.Sprintf("e%d", i))
	}
	c := New("experiments", nil, 2)
	c.overflowRetry = 200 * time.Millisecond
	experimentsOn(t, dsn, c)
	// Two retries' worth: it lists, overflows, lists again.
	time.Sleep(3 * c.overflowRetry)
	if n, synced := c.Held(); n != 0 || synced {
		t.Fatalf("with 3 experiments and a bound of 2, the cache holds %d (answering from them: %v)", n, synced)
	}
	if _, _, err := store.Delete(ctx, "e0", rest.ValidateAllObjectFunc, &metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	waitHeld(t, c, 2, true)
}
