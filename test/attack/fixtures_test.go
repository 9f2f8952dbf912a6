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
	"net/http"
	"reflect"
	"strings"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/rest"
)

// obj is an object as JSON sees it.
type obj = map[string]any

// fixtures are the objects the cases aim at, created by the cluster admin.
type fixtures struct {
	admin rest.Interface
	mu    sync.Mutex
	uids  map[string]string
}

func path(ns, res, name string, sub ...string) string {
	p := "/apis/" + group + "/v1beta1"
	if ns != "" {
		p += "/namespaces/" + ns
	}
	p += "/" + res
	if name != "" {
		p += "/" + name
	}
	for _, s := range sub {
		p += "/" + s
	}
	return p
}

// manifest is a one-step Argo Workflow; team-a's carries teamAMarker.
func manifest(ns string) obj {
	image := "busybox"
	if ns == teamA {
		image = teamAMarker
	}
	return obj{
		"apiVersion": "argoproj.io/v1alpha1", "kind": "Workflow",
		"metadata": obj{"generateName": "step-"},
		"spec": obj{
			"entrypoint": "step",
			"arguments":  obj{"parameters": []any{obj{"name": "message", "value": "hello"}}},
			"templates": []any{obj{
				"name": "step", "inputs": obj{"parameters": []any{obj{"name": "message"}}},
				"container": obj{"image": image, "command": []any{"echo", "{{inputs.parameters.message}}"}},
			}},
		},
	}
}

// base is a valid new object of res in ns, referring to the namespace's shared fixtures.
func base(res resource, ns, name string) obj {
	o := obj{"apiVersion": group + "/v1beta1", "kind": res.kind, "metadata": obj{"name": name, "namespace": ns}}
	switch res.plural {
	case "experiments", "pipelines":
		o["spec"] = obj{"displayName": name}
	case "pipelineversions":
		// Not a version of pipe: runs of pipe keep pinning pipe-v1.
		o["spec"] = obj{"pipelineName": "scratch", "workflow": manifest(ns)}
	case "runs":
		o["spec"] = obj{"experimentName": sharedExp, "pipelineRef": obj{"pipelineName": sharedPipe},
			"parameters": []any{obj{"name": "message", "value": name}}}
	case "jobs":
		o["spec"] = obj{"experimentName": sharedExp, "pipelineRef": obj{"pipelineName": sharedPipe},
			"schedule": obj{"intervalSeconds": 86400}, "maxConcurrency": 1, "enabled": false}
	}
	return o
}

func resourceNamed(plural string) resource {
	for _, r := range resources {
		if r.plural == plural {
			return r
		}
	}
	panic(plural)
}

// do sends one request and returns its status code and body.
func do(ctx context.Context, c rest.Interface, method, p, contentType string, body any, params map[string]string) (int, []byte, error) {
	req := c.Verb(method).AbsPath(p)
	for k, v := range params {
		req.Param(k, v)
	}
	if body != nil {
		raw, err := json.Marshal(body)
		if err != nil {
			return 0, nil, err
		}
		req.SetHeader("Content-Type", contentType).Body(raw)
	}
	var code int
	res := req.Do(ctx).StatusCode(&code)
	raw, err := res.Raw()
	if code == 0 {
		return 0, raw, err
	}
	return code, raw, nil
}

func decode(raw []byte) (obj, error) {
	var o obj
	if err := json.Unmarshal(raw, &o); err != nil {
		return nil, fmt.Errorf("decoding %.200s: %w", raw, err)
	}
	return o, nil
}

// create creates o as admin, once: an object left by an earlier attempt is reused.
func (f *fixtures) create(ctx context.Context, res resource, o obj) (obj, error) {
	m := o["metadata"].(obj)
	ns, name := m["namespace"].(string), m["name"].(string)
	code, raw, err := do(ctx, f.admin, http.MethodPost, path(ns, res.plural, ""), "application/json", o, nil)
	if err == nil && code == http.StatusConflict {
		code, raw, err = do(ctx, f.admin, http.MethodGet, path(ns, res.plural, name), "", nil, nil)
	}
	if err != nil || code >= 300 {
		return nil, fmt.Errorf("admin creating %s %s/%s: %d %v %.300s", res.plural, ns, name, code, err, raw)
	}
	created, err := decode(raw)
	if err != nil {
		return nil, err
	}
	f.mu.Lock()
	f.uids[ns+"/"+res.plural+"/"+name] = created["metadata"].(obj)["uid"].(string)
	f.mu.Unlock()
	return created, nil
}

func (f *fixtures) get(ctx context.Context, ns, res, name string) (obj, int, error) {
	code, raw, err := do(ctx, f.admin, http.MethodGet, path(ns, res, name), "", nil, nil)
	if err != nil || code != http.StatusOK {
		return nil, code, err
	}
	o, err := decode(raw)
	return o, code, err
}

func (f *fixtures) uid(ns, res, name string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	uid, ok := f.uids[ns+"/"+res+"/"+name]
	if !ok {
		panic("no fixture " + ns + "/" + res + "/" + name)
	}
	return uid
}

// twin is the name a delete case's target has in team-b and its twin has in team-a.
func twin(user, op string) string {
	return user + "-" + strings.ToLower(strings.TrimPrefix(op, "delete-"))
}

// dependent is the kind of what a twin owns (name-dep): a run of an experiment, a version
// of a pipeline; none for the others.
func dependent(res resource) resource {
	switch res.plural {
	case "experiments":
		return resourceNamed("runs")
	case "pipelines":
		return resourceNamed("pipelineversions")
	}
	return resource{}
}

// createAlone creates res/name in ns, with labels.
func (f *fixtures) createAlone(ctx context.Context, res resource, ns, name string, labels obj) error {
	o := base(res, ns, name)
	if labels != nil {
		o["metadata"].(obj)["labels"] = labels
	}
	_, err := f.create(ctx, res, o)
	return err
}

// createWithDependent creates res/name in ns and, for experiments and pipelines, an object
// it owns (name-dep): the cascade a delete may start.
func (f *fixtures) createWithDependent(ctx context.Context, res resource, ns, name string, labels obj) error {
	if err := f.createAlone(ctx, res, ns, name, labels); err != nil {
		return err
	}
	dep := dependent(res)
	if dep.plural == "" {
		return nil
	}
	d := base(dep, ns, name+"-dep")
	if labels != nil {
		d["metadata"].(obj)["labels"] = labels
	}
	switch dep.plural {
	case "runs":
		d["spec"].(obj)["experimentName"] = name
	case "pipelineversions":
		d["spec"].(obj)["pipelineName"] = name
	}
	_, err := f.create(ctx, dep, d)
	return err
}

// setUp creates the fixtures of both teams, service accounts, and team-a's twins of the
// delete cases' targets, then waits until the controllers have nothing left to do in them.
func (f *fixtures) setUp(ctx context.Context) error {
	cp := env.ControlPlane()
	for ns, accounts := range map[string][]string{teamA: {teamARunner, defaultRunner}, teamB: {teamBOther, defaultRunner}} {
		for _, sa := range accounts {
			if err := cp.EnsureServiceAccount(ctx, ns, sa); err != nil {
				return err
			}
		}
	}
	for _, ns := range []string{teamA, teamB} {
		var labels obj
		if ns == teamA {
			labels = obj{tenantLabel: "a"}
		}
		type fixture struct{ res, name, pipeline, exp string }
		list := []fixture{
			{"experiments", sharedExp, "", ""}, {"pipelines", sharedPipe, "", ""}, {"pipelines", "scratch", "", ""},
			{"pipelineversions", sharedVersion, sharedPipe, ""},
			{"runs", sharedRun, sharedPipe, sharedExp}, {"jobs", sharedJob, sharedPipe, sharedExp},
		}
		if ns == teamA {
			list = append(list, fixture{"experiments", onlyAExp, "", ""}, fixture{"pipelines", onlyAPipe, "", ""},
				fixture{"pipelineversions", onlyAVersion, onlyAPipe, ""})
		}
		for _, fx := range list {
			o := base(resourceNamed(fx.res), ns, fx.name)
			if labels != nil {
				o["metadata"].(obj)["labels"] = labels
			}
			if fx.res == "pipelineversions" {
				o["spec"].(obj)["pipelineName"] = fx.pipeline
			}
			if _, err := f.create(ctx, resourceNamed(fx.res), o); err != nil {
				return err
			}
		}
	}
	for _, user := range []string{bob, vera, olga} {
		for _, op := range plainOps {
			if !strings.HasPrefix(op, "delete-") {
				continue
			}
			for _, r := range resources {
				if err := f.createWithDependent(ctx, r, teamA, twin(user, op), obj{tenantLabel: "a"}); err != nil {
					return err
				}
			}
		}
	}
	return f.settle(ctx)
}

// settle waits until the executor has made a Workflow for every run of the fixtures
// (runs/log needs one, and a Workflow made later would look like a change) and team-a holds
// still: two listings a second apart, equal in metadata and spec.
func (f *fixtures) settle(ctx context.Context) error {
	var last map[string]string
	var why string
	err := wait.PollUntilContextTimeout(ctx, time.Second, 2*time.Minute, true, func(ctx context.Context) (bool, error) {
		for _, ns := range []string{teamA, teamB} {
			code, raw, err := do(ctx, f.admin, http.MethodGet, path(ns, "runs", ""), "", nil, nil)
			var list struct{ Items []obj }
			if err != nil || code != http.StatusOK || json.Unmarshal(raw, &list) != nil {
				why = fmt.Sprintf("listing runs of %s: %d %v", ns, code, err)
				return false, nil
			}
			for _, run := range list.Items {
				if at(run, "status", "workflowName") == nil {
					why = fmt.Sprintf("run %s/%v has no workflow yet", ns, at(run, "metadata", "name"))
					return false, nil
				}
			}
		}
		now, err := f.teamA(ctx)
		if err != nil {
			why = err.Error()
			return false, nil
		}
		same := reflect.DeepEqual(now, last)
		last, why = now, "team-a still changing"
		return same, nil
	})
	if err != nil {
		return fmt.Errorf("fixtures did not settle (%s): %w", why, err)
	}
	return nil
}

// teamA lists everything of team-a: "resource/name" → the object's identity (metadata
// and spec, without what status writes change).
func (f *fixtures) teamA(ctx context.Context) (map[string]string, error) {
	all := map[string]string{}
	for _, r := range resources {
		code, raw, err := do(ctx, f.admin, http.MethodGet, path(teamA, r.plural, ""), "", nil, nil)
		if err != nil || code != http.StatusOK {
			return nil, fmt.Errorf("listing %s in %s: %d %v", r.plural, teamA, code, err)
		}
		var list struct{ Items []obj }
		if err := json.Unmarshal(raw, &list); err != nil {
			return nil, err
		}
		for _, o := range list.Items {
			all[r.plural+"/"+o["metadata"].(obj)["name"].(string)] = identity(o)
		}
	}
	return all, nil
}

// identity is an object's metadata and spec as canonical JSON, without resourceVersion
// and managedFields, which a status write changes.
func identity(o obj) string {
	m := obj{}
	for k, v := range o["metadata"].(obj) {
		if k != "resourceVersion" && k != "managedFields" {
			m[k] = v
		}
	}
	raw, _ := json.Marshal(obj{"metadata": m, "spec": o["spec"]})
	return string(raw)
}
