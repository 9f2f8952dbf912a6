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
	"io"
	"reflect"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/apitesting"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apiserver/pkg/apis/example"
	examplev1 "k8s.io/apiserver/pkg/apis/example/v1"
	"k8s.io/apiserver/pkg/storage"
)

func pod(name string) *example.Pod {
	return &example.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: name}}
}

var podType = reflect.TypeOf(&example.Pod{})

// The cache hands out copies, keeps at most its bytes, least recently used out first,
// keeps no object larger than a sixteenth of them, and answers only for the key and
// type it holds.
func TestDecodedObjectsBounded(t *testing.T) {
	d := newDecodedObjects(1600)
	for i := range 20 {
		d.add("/pods/ns/p"+strconv.Itoa(i), int64(i+1), 100, pod("p"+strconv.Itoa(i)))
		if d.bytes > d.maxBytes {
			t.Fatalf("after %d adds the cache holds %d bytes, more than %d", i+1, d.bytes, d.maxBytes)
		}
	}
	if got := d.lru.Len(); got != 16 {
		t.Fatalf("the cache holds %d objects of 100 bytes in 1600, want 16", got)
	}
	if d.object("/pods/ns/p0", 1, podType) != nil || d.object("/pods/ns/p19", 20, podType) == nil {
		t.Fatal("the oldest objects were not the ones let go")
	}
	d.add("/pods/ns/big", 100, 101, pod("big"))
	if d.object("/pods/ns/big", 100, podType) != nil {
		t.Fatal("an object larger than a sixteenth of the cache was kept")
	}
	if d.object("/pods/ns/other", 20, podType) != nil || d.object("/pods/ns/p19", 20, reflect.TypeOf(&example.PodList{})) != nil {
		t.Fatal("a revision answered for another key or type")
	}
	got := d.object("/pods/ns/p19", 20, podType).(*example.Pod)
	got.Labels = map[string]string{"changed": "by a caller"}
	if again := d.object("/pods/ns/p19", 20, podType).(*example.Pod); again.Labels != nil {
		t.Fatal("a caller's change to its copy reached the cached object")
	}
	out := &example.Pod{}
	if !d.into("/pods/ns/p19", 20, out) || out.Name != "p19" {
		t.Fatalf("into: %+v", out)
	}
	d.add("/pods/ns/p19", 20, 100, pod("p19"))
	if d.bytes != 1600 {
		t.Fatalf("adding a kept revision again counted it twice: %d bytes", d.bytes)
	}
	var none *decodedObjects
	none.add("/pods/ns/x", 1, 1, pod("x"))
	if none.object("/pods/ns/x", 1, podType) != nil || newDecodedObjects(0) != nil {
		t.Fatal("a cache of no bytes kept something")
	}
}

// countingCodec counts the objects decoded through it.
type countingCodec struct {
	runtime.Codec
	decodes *atomic.Int64
}

func (c countingCodec) Decode(data []byte, gvk *schema.GroupVersionKind, into runtime.Object) (runtime.Object, *schema.GroupVersionKind, error) {
	c.decodes.Add(1)
	return c.Codec.Decode(data, gvk, into)
}

func (c countingCodec) Encode(obj runtime.Object, w io.Writer) error { return c.Codec.Encode(obj, w) }

// A version written or read once is not parsed again: not by a get, a list, or a watch
// of it, and every reader gets its own copy. With the cache turned off, each of them
// parses it.
func TestReadsShareDecodes(t *testing.T) {
	for _, c := range []struct {
		name        string
		cacheBytes  int64
		wantDecodes int64
		// decodes of an update of that version: its read of the object and its result
		wantUpdateDecodes int64
	}{{"cache", 0, 1, 1}, {"no cache", -1, 5, 2}} {
		t.Run(c.name, func(t *testing.T) {
			b := testBackend(t, "", func(cfg *Config) { cfg.DecodedCacheBytes = c.cacheBytes })
			decodes := &atomic.Int64{}
			s := newPodStore(t, b, setup{codec: countingCodec{apitesting.TestCodec(codecs, examplev1.SchemeGroupVersion), decodes}})
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			before, err := s.GetCurrentResourceVersion(ctx)
			if err != nil {
				t.Fatal(err)
			}
			created := &example.Pod{}
			in := pod("a")
			in.Labels = map[string]string{"app": "x"}
			if err := s.Create(ctx, "/pods/ns/a", in, created, 0); err != nil {
				t.Fatal(err)
			}
			// Opened after the create, so that its event is read after the create's own
			// decode (a watch open before races the create for the first decode).
			w, err := s.Watch(ctx, "/pods/", storage.ListOptions{ResourceVersion: strconv.FormatUint(before, 10), Recursive: true, Predicate: storage.Everything})
			if err != nil {
				t.Fatal(err)
			}
			select {
			case e := <-w.ResultChan():
				if got, ok := e.Object.(*example.Pod); !ok || got.Name != "a" {
					t.Fatalf("watch event %v", e)
				}
			case <-ctx.Done():
				t.Fatal("no watch event")
			}
			w.Stop()
			for range w.ResultChan() { // closed once the watch has let go of the tail
			}
			for range 2 {
				got := &example.Pod{}
				if err := s.Get(ctx, "/pods/ns/a", storage.GetOptions{}, got); err != nil {
					t.Fatal(err)
				}
				if !apiequality.Semantic.DeepEqual(got, created) {
					t.Fatalf("get %+v, created %+v", got, created)
				}
				got.Labels["app"] = "changed by the caller"
			}
			list := &example.PodList{}
			if err := s.GetList(ctx, "/pods/", storage.ListOptions{Recursive: true, Predicate: storage.Everything}, list); err != nil {
				t.Fatal(err)
			}
			if len(list.Items) != 1 || !apiequality.Semantic.DeepEqual(&list.Items[0], created) {
				t.Fatalf("list %+v, created %+v", list.Items, created)
			}
			// The create, the watch event, two gets and a list read the same version;
			// with the cache, the create's own decode is the one the others copy.
			if got := decodes.Load(); got != c.wantDecodes {
				t.Fatalf("%d objects decoded, want %d", got, c.wantDecodes)
			}
			// An update reads the version kept, and keeps the one it writes.
			decodes.Store(0)
			updated := &example.Pod{}
			if err := s.GuaranteedUpdate(ctx, "/pods/ns/a", updated, false, nil, func(input runtime.Object, _ storage.ResponseMeta) (runtime.Object, *uint64, error) {
				p := input.(*example.Pod)
				if p.Labels["app"] != "x" {
					t.Errorf("the update read labels %v, not the stored ones", p.Labels)
				}
				p.Labels["app"] = "y"
				return p, nil, nil
			}, nil); err != nil {
				t.Fatal(err)
			}
			if got := decodes.Load(); got != c.wantUpdateDecodes {
				t.Fatalf("the update decoded %d objects, want %d", got, c.wantUpdateDecodes)
			}
			got := &example.Pod{}
			if err := s.Get(ctx, "/pods/ns/a", storage.GetOptions{}, got); err != nil || got.Labels["app"] != "y" || got.ResourceVersion != updated.ResourceVersion {
				t.Fatalf("get after the update: %+v, %v", got.ObjectMeta, err)
			}
		})
	}
}

// Under concurrent writes, every version read (get, list item, watch event) is the one
// written at its resource version: a kept object is never handed out for another version.
func TestDecodedObjectsMatchTheirVersion(t *testing.T) {
	b := testBackend(t, "", func(cfg *Config) { cfg.DecodedCacheBytes = 4 << 10 }) // small: evictions too
	s := newPodStore(t, b, setup{codec: apitesting.TestCodec(codecs, examplev1.SchemeGroupVersion)})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var written sync.Map // resourceVersion → the label "n" written with it
	check := func(where string, p *example.Pod) {
		if want, ok := written.Load(p.ResourceVersion); ok && want != p.Labels["n"] {
			t.Errorf("%s: %s at resourceVersion %s has n=%s, written with n=%s", where, p.Name, p.ResourceVersion, p.Labels["n"], want)
		}
	}
	w, err := s.Watch(ctx, "/pods/", storage.ListOptions{ResourceVersion: "0", Recursive: true, Predicate: storage.Everything})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	const writers, writes = 4, 40
	var events []*example.Pod
	watched := make(chan struct{})
	go func() {
		defer close(watched)
		for e := range w.ResultChan() {
			if p, ok := e.Object.(*example.Pod); ok {
				if events = append(events, p); len(events) == writers*(writes+1) {
					return
				}
			}
		}
	}()
	var wg sync.WaitGroup
	for i := range writers {
		wg.Go(func() {
			key := "/pods/ns/w" + strconv.Itoa(i)
			out := &example.Pod{}
			p := pod("w" + strconv.Itoa(i))
			p.Labels = map[string]string{"n": "0"}
			if err := s.Create(ctx, key, p, out, 0); err != nil {
				t.Error(err)
				return
			}
			written.Store(out.ResourceVersion, "0")
			for n := 1; n <= writes; n++ {
				err := s.GuaranteedUpdate(ctx, key, out, false, nil, func(input runtime.Object, _ storage.ResponseMeta) (runtime.Object, *uint64, error) {
					p := input.(*example.Pod)
					p.Labels["n"] = strconv.Itoa(n)
					return p, nil, nil
				}, nil)
				if err != nil {
					t.Error(err)
					return
				}
				written.Store(out.ResourceVersion, strconv.Itoa(n))
			}
		})
	}
	for range 2 {
		wg.Go(func() {
			for range writers * writes / 2 {
				got := &example.Pod{}
				if err := s.Get(ctx, "/pods/ns/w0", storage.GetOptions{}, got); err == nil {
					check("get", got)
				}
				list := &example.PodList{}
				if err := s.GetList(ctx, "/pods/", storage.ListOptions{Recursive: true, Predicate: storage.Everything}, list); err != nil {
					t.Error(err)
					return
				}
				for i := range list.Items {
					check("list", &list.Items[i])
				}
			}
		})
	}
	wg.Wait()
	select {
	case <-watched:
	case <-ctx.Done():
	}
	w.Stop()
	<-watched
	if len(events) < writers*(writes+1) {
		t.Fatalf("%d watch events, want at least %d", len(events), writers*(writes+1))
	}
	for _, p := range events {
		check("watch", p)
	}
}
