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

package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/rest"

	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/apis/pipelines/v1beta1"
	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/generated/clientset/versioned"
	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/pipelinefile"
	"github.com/pipelines-apiserver/pipelines-apiserver/test/framework"
	"github.com/pipelines-apiserver/pipelines-apiserver/test/shareddata"
)

// contentTypes records the media type of every request body and answer of this API group.
type contentTypes struct {
	mu   sync.Mutex
	seen map[string]string // "GET /apis/..." -> "sent; answered"
}

func (c *contentTypes) wrap(rt http.RoundTripper) http.RoundTripper {
	return roundTripFunc(func(req *http.Request) (*http.Response, error) {
		resp, err := rt.RoundTrip(req)
		if err == nil && strings.HasPrefix(req.URL.Path, "/apis/"+v1beta1.SchemeGroupVersion.Group+"/") {
			c.mu.Lock()
			c.seen[req.Method+" "+req.URL.RequestURI()] = req.Header.Get("Content-Type") + "; " + resp.Header.Get("Content-Type")
			c.mu.Unlock()
		}
		return resp, err
	})
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(req *http.Request) (*http.Response, error) { return f(req) }

// TestProtobuf: the generated clientset speaks protobuf, as client-go's typed clients of the
// built-in kinds do, and kube-apiserver's aggregator passes it through. A JSON client (kubectl,
// the web UI) reads the same objects.
func TestProtobuf(t *testing.T) {
	setup(t)
	ctx := t.Context()
	ns := newNamespace(t)

	cfg, err := env.RESTConfig(framework.AdminUser)
	if err != nil {
		t.Fatal(err)
	}
	jsonCfg := rest.CopyConfig(cfg)
	jsonCfg.ContentType = "application/json"
	js := versioned.NewForConfigOrDie(jsonCfg).PipelinesV1beta1()
	seen := &contentTypes{seen: map[string]string{}}
	cfg.Wrap(seen.wrap)
	c := versioned.NewForConfigOrDie(cfg)
	pb := c.PipelinesV1beta1()

	fixture(t, c, ns, "pb") // a pipeline version's workflow is a RawExtension: bytes in protobuf
	w, err := pb.Runs(ns).Watch(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	run, err := pb.Runs(ns).Create(ctx, newRun("pb-1", "pb", "pb"), metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create over protobuf: %v", err)
	}
	run.Status.Conditions = []metav1.Condition{{Type: "Checked", Status: metav1.ConditionTrue, Reason: "Protobuf",
		LastTransitionTime: metav1.NewTime(time.Now().Truncate(time.Second))}}
	if run, err = pb.Runs(ns).UpdateStatus(ctx, run, metav1.UpdateOptions{}); err != nil {
		t.Fatalf("status update over protobuf: %v", err)
	}
	select {
	case ev := <-w.ResultChan():
		if got, ok := ev.Object.(*v1beta1.Run); ev.Type != watch.Added || !ok || got.Name != "pb-1" {
			t.Errorf("first watch event over protobuf: %s %#v, want ADDED pb-1", ev.Type, ev.Object)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("no watch event over protobuf in 30 s")
	}

	list, err := pb.Runs(ns).List(ctx, metav1.ListOptions{})
	if err != nil || len(list.Items) != 1 {
		t.Fatalf("list over protobuf: %v, %d items, want 1", err, len(list.Items))
	}
	fromJSON, err := js.Runs(ns).Get(ctx, "pb-1", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, got := range []*v1beta1.Run{run, &list.Items[0]} {
		got.TypeMeta = fromJSON.TypeMeta // a list's items carry none
		if !apiequality.Semantic.DeepEqual(got, fromJSON) {
			t.Errorf("run over protobuf differs from the same run over JSON:\n%#v\n%#v", got, fromJSON)
		}
	}

	version, err := pb.PipelineVersions(ns).Get(ctx, "pb-v1", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var sent, got any
	if err := json.Unmarshal([]byte(workflow), &sent); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(version.Spec.Workflow.Raw, &got); err != nil || !reflect.DeepEqual(got, sent) {
		t.Errorf("workflow over protobuf: %v, %s; want what was sent", err, version.Spec.Workflow.Raw)
	}

	seen.mu.Lock()
	defer seen.mu.Unlock()
	if len(seen.seen) < 7 {
		t.Errorf("recorded %d requests, want at least 7: %v", len(seen.seen), seen.seen)
	}
	for req, types := range seen.seen {
		sent, answered, _ := strings.Cut(types, "; ")
		if !strings.HasPrefix(answered, "application/vnd.kubernetes.protobuf") ||
			(sent != "" && sent != "application/vnd.kubernetes.protobuf") {
			t.Errorf("%s: sent %q, answered %q; want protobuf both ways", req, sent, answered)
		}
	}
}

// TestDefinitionsOnlyAsJSON: a definition this server cannot handle as JSON is refused with
// 400 and changes nothing, however it comes: any bytes in a protobuf body, a number beyond
// float64 in a JSON body, a merge patch or an apply. Server-side apply's field tracking, which
// runs before validation, used to fail such requests with a panic (a 503 through the
// aggregator).
func TestDefinitionsOnlyAsJSON(t *testing.T) {
	setup(t)
	ctx := t.Context()
	ns := newNamespace(t)
	c := clientFor(t, framework.AdminUser)
	fixture(t, c, ns, "p")
	pv := c.PipelinesV1beta1().PipelineVersions(ns)

	// What a KFP 2.x file uploads as, with a platform spec of only spaces.
	files := shareddata.Files(t, "kfp-v2", "valid", ".yaml")
	f, err := os.Open(files[0])
	if err != nil {
		t.Fatal(err)
	}
	ir, err := pipelinefile.Read(f)
	f.Close()
	if err != nil {
		t.Fatalf("%s: %v", files[0], err)
	}
	ir.PipelineName, ir.PlatformSpec.Raw = "p", []byte("  ")
	huge := strings.Replace(workflow, `"spec": {`, `"spec": {"activeDeadlineSeconds": 1e400, `, 1)

	for name, spec := range map[string]v1beta1.PipelineVersionSpec{
		"spaces":   *ir, // the clientset sends protobuf
		"not-json": {PipelineName: "p", Workflow: runtime.RawExtension{Raw: []byte("kind: Workflow")}},
		"huge":     {PipelineName: "p", Workflow: runtime.RawExtension{Raw: []byte(huge)}},
	} {
		_, err := pv.Create(ctx, &v1beta1.PipelineVersion{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: spec}, metav1.CreateOptions{})
		if !apierrors.IsBadRequest(err) {
			t.Errorf("create %s: %v, want 400 BadRequest", name, err)
		}
		if _, err := pv.Get(ctx, name, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
			t.Errorf("%s after a refused create: %v, want NotFound", name, err)
		}
	}
	// kubectl refuses such numbers itself, so these requests are sent as JSON by hand, as
	// any client could.
	rc := c.PipelinesV1beta1().RESTClient()
	manifest := `{"apiVersion": "pipelines.kubeflow.org/v1beta1", "kind": "PipelineVersion", "metadata": {"name": "%s"},
		"spec": {"pipelineName": "p", "workflow": ` + huge + `}}`
	before, err := pv.Get(ctx, "p-v1", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for what, req := range map[string]*rest.Request{
		"create": rc.Post().Namespace(ns).Resource("pipelineversions").SetHeader("Content-Type", "application/json").
			Body([]byte(fmt.Sprintf(manifest, "huge"))),
		"merge patch": rc.Patch(types.MergePatchType).Namespace(ns).Resource("pipelineversions").Name("p-v1").
			Body([]byte(`{"spec": {"workflow": ` + huge + `}}`)),
		"apply": rc.Patch(types.ApplyPatchType).Namespace(ns).Resource("pipelineversions").Name("p-v1").
			Param("fieldManager", "e2e").Param("force", "true").Body([]byte(fmt.Sprintf(manifest, "p-v1"))),
	} {
		err := req.Do(ctx).Error()
		if code := statusCode(err); code != http.StatusBadRequest && code != http.StatusUnprocessableEntity {
			t.Errorf("%s with a number beyond float64: %v, want 400 or 422", what, err)
		}
	}
	if _, err := pv.Get(ctx, "huge", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("huge after a refused create: %v, want NotFound", err)
	}
	after, err := pv.Get(ctx, "p-v1", metav1.GetOptions{})
	if err != nil || after.ResourceVersion != before.ResourceVersion {
		t.Errorf("p-v1 after refused changes: %v, resourceVersion %s, want %s", err, after.ResourceVersion, before.ResourceVersion)
	}
}
