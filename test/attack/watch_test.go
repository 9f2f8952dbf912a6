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

package attack

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"sync"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/dynamic"
)

// guard watches, as the cluster admin, every resource of the group and Argo's Workflows in
// all namespaces while the cases run, and records each cross-tenant change: an object of
// team-a created, deleted or changed in metadata or spec, and anything outside team-a
// that uses team-a's pipeline (a run or job naming it, a Workflow holding its manifest).
type guard struct {
	snapshot map[string]string // team-a, from fixtures.teamA
	mu       sync.Mutex
	// changes: the first seen of each object changed ("namespace/resource/name").
	changes map[string]string
	wg      sync.WaitGroup
}

var workflows = schema.GroupVersionResource{Group: "argoproj.io", Version: "v1alpha1", Resource: "workflows"}

func (g *guard) start(ctx context.Context, client dynamic.Interface) error {
	gvrs := []schema.GroupVersionResource{workflows}
	for _, r := range resources {
		gvrs = append(gvrs, schema.GroupVersionResource{Group: group, Version: "v1beta1", Resource: r.plural})
	}
	for _, gvr := range gvrs {
		list, err := client.Resource(gvr).List(ctx, metav1.ListOptions{})
		if err != nil {
			return fmt.Errorf("listing %s: %w", gvr.Resource, err)
		}
		for i := range list.Items {
			g.check(gvr.Resource, watch.Added, &list.Items[i], true)
		}
		rv := list.GetResourceVersion()
		g.wg.Go(func() { g.follow(ctx, client.Resource(gvr), gvr.Resource, rv) })
	}
	return nil
}

// follow watches from rv until ctx ends, re-watching from the last event when the server
// closes the watch.
func (g *guard) follow(ctx context.Context, client dynamic.NamespaceableResourceInterface, res, rv string) {
	for ctx.Err() == nil {
		w, err := client.Watch(ctx, metav1.ListOptions{ResourceVersion: rv, AllowWatchBookmarks: true})
		if err != nil {
			if ctx.Err() == nil {
				g.record("watch/"+res, "watching %s as admin failed: %v", res, err)
			}
			return
		}
		for ev := range w.ResultChan() {
			u, ok := ev.Object.(*unstructured.Unstructured)
			if !ok {
				continue // an error event: the watch ends and is started again
			}
			rv = u.GetResourceVersion()
			if ev.Type != watch.Bookmark {
				g.check(res, ev.Type, u, false)
			}
		}
		w.Stop()
	}
}

func (g *guard) check(res string, typ watch.EventType, u *unstructured.Unstructured, initial bool) {
	key := res + "/" + u.GetName()
	id := u.GetNamespace() + "/" + key
	if u.GetNamespace() == teamA {
		if res == workflows.Resource {
			if !initial && typ == watch.Added {
				g.record(id, "new Workflow %s/%s in team-a", teamA, u.GetName())
			}
			return
		}
		was, known := g.snapshot[key]
		switch {
		case initial:
		case typ == watch.Deleted && known:
			g.record(id, "%s deleted from team-a", key)
		case typ == watch.Added && !known:
			g.record(id, "new %s in team-a", key)
		case typ == watch.Modified && identity(u.Object) != was:
			g.record(id, "%s of team-a changed: %s, was %s", key, identity(u.Object), was)
		}
		return
	}
	if typ == watch.Deleted {
		return
	}
	if res == workflows.Resource {
		raw, _ := json.Marshal(u.Object)
		if strings.Contains(string(raw), teamAMarker) {
			g.record(id, "Workflow %s/%s runs team-a's pipeline", u.GetNamespace(), u.GetName())
		}
		return
	}
	if ns, _, _ := unstructured.NestedString(u.Object, "spec", "pipelineRef", "namespace"); ns == teamA {
		g.record(id, "%s %s/%s uses team-a's pipeline: %v", res, u.GetNamespace(), u.GetName(), u.Object["spec"])
	}
}

// record notes a change of the object id, once.
func (g *guard) record(id, format string, args ...any) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.changes == nil {
		g.changes = map[string]string{}
	}
	if _, ok := g.changes[id]; !ok {
		g.changes[id] = fmt.Sprintf(format, args...)
	}
}

// seen returns one line per object changed, sorted.
func (g *guard) seen() []string {
	g.mu.Lock()
	defer g.mu.Unlock()
	var lines []string
	for _, l := range g.changes {
		lines = append(lines, l)
	}
	sort.Strings(lines)
	return lines
}
