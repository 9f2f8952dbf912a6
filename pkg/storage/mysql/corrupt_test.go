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
	"strconv"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/apitesting"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/apiserver/pkg/apis/example"
	examplev1 "k8s.io/apiserver/pkg/apis/example/v1"
	"k8s.io/apiserver/pkg/storage"
)

// TestUndecodableRowLeftOut: a row written straight into the database that does not
// decode is a corrupt-object error by name, and lists and watches leave it out while
// the objects around it flow on (issue 13: one tenant's row must not stop every
// informer of the resource).
func TestUndecodableRowLeftOut(t *testing.T) {
	b := testBackend(t, "")
	codec := apitesting.TestCodec(codecs, examplev1.SchemeGroupVersion)
	s := newPodStore(t, b, setup{codec: codec})
	ctx := context.Background()
	before, err := s.GetCurrentResourceVersion(ctx)
	if err != nil {
		t.Fatal(err)
	}
	w, err := s.Watch(ctx, "/pods/", storage.ListOptions{ResourceVersion: strconv.FormatUint(before, 10), Recursive: true, Predicate: storage.Everything})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()

	var objs []BulkObject
	for _, name := range []string{"a", "c"} {
		data, err := runtime.Encode(codec, &example.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: name}})
		if err != nil {
			t.Fatal(err)
		}
		objs = append(objs, BulkObject{Key: "/pods/ns/" + name, Value: data, Columns: [][]byte{{}}})
	}
	objs = append(objs[:1], BulkObject{Key: "/pods/ns/b", Value: []byte(`{"apiVersion":"example.apiserver.k8s.io/v1","kind":"Pod","metadata":`), Columns: [][]byte{{}}}, objs[1])
	if _, err := BulkLoad(ctx, b.db, podsTable, objs); err != nil {
		t.Fatal(err)
	}

	var got example.Pod
	if err := s.Get(ctx, "/pods/ns/b", storage.GetOptions{}, &got); !storage.IsCorruptObject(err) {
		t.Errorf("Get of the undecodable row: %v, want a corrupt-object error", err)
	}
	var list example.PodList
	if err := s.GetList(ctx, "/pods/ns/", storage.ListOptions{Recursive: true, Predicate: storage.Everything}, &list); err != nil {
		t.Fatalf("GetList: %v", err)
	}
	if len(list.Items) != 2 || list.Items[0].Name != "a" || list.Items[1].Name != "c" {
		t.Errorf("listed %v, want a and c", list.Items)
	}
	for _, want := range []string{"a", "c"} {
		select {
		case ev := <-w.ResultChan():
			if pod, ok := ev.Object.(*example.Pod); ev.Type != watch.Added || !ok || pod.Name != want {
				t.Fatalf("event %s %#v, want ADDED %s", ev.Type, ev.Object, want)
			}
		case <-time.After(wait.ForeverTestTimeout):
			t.Fatalf("no event for %s", want)
		}
	}
	// Deleted by an admin (unsafe deletion): nothing to tell the watchers, who never saw it.
	var deleted example.Pod
	if err := s.Delete(ctx, "/pods/ns/b", &deleted, nil, storage.ValidateAllObjectFunc, nil, storage.DeleteOptions{ExpectTransformOrDecodeError: true}); err != nil {
		t.Fatalf("unsafe delete: %v", err)
	}
	next := &example.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "d"}}
	if err := s.Create(ctx, "/pods/ns/d", next, nil, 0); err != nil {
		t.Fatal(err)
	}
	select {
	case ev := <-w.ResultChan():
		if pod, ok := ev.Object.(*example.Pod); ev.Type != watch.Added || !ok || pod.Name != "d" {
			t.Fatalf("event %s %#v, want ADDED d", ev.Type, ev.Object)
		}
	case <-time.After(wait.ForeverTestTimeout):
		t.Fatal("no event for d")
	}
}
