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

package execution

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"sigs.k8s.io/yaml"

	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/apis/pipelines/v1beta1"
	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/cmd/plugin"
	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/controller/run"
	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/pipelinespec"
	"github.com/pipelines-apiserver/pipelines-apiserver/test/framework"
	"github.com/pipelines-apiserver/pipelines-apiserver/test/shareddata"
)

// upload runs `kubectl pipelines upload` as user, in-process, and returns its output
// and error.
func upload(t *testing.T, user, ns string, args ...string) (string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	streams := genericiooptions.IOStreams{In: strings.NewReader(""), Out: &out, ErrOut: &errOut}
	cmd := plugin.NewCommand(streams)
	cmd.SetArgs(append([]string{"--kubeconfig", env.UserKubeconfig(user), "-n", ns, "upload"}, args...))
	cmd.SetOut(&errOut)
	cmd.SetErr(&errOut)
	err := cmd.ExecuteContext(t.Context())
	return strings.TrimSpace(out.String()), err
}

// TestKFPv2RunsBecomeWorkflows: every pipeline the KFP 2.x SDK compiled in the shared
// test data uploads unedited with kubectl pipelines upload, lists the inputs its
// root.inputDefinitions declares, and a run of it (required inputs given) becomes one
// Argo Workflow that kube-apiserver accepts under Argo's full CRD, owned, labelled and
// run as v1 runs are, with one pod template per container task and no other.
func TestKFPv2RunsBecomeWorkflows(t *testing.T) {
	setup(t)
	files := shareddata.Files(t, "kfp-v2", "valid", ".yaml")
	ns := newNamespace(t)
	c := clientFor(t, framework.AdminUser)
	p := c.PipelinesV1beta1()
	if _, err := p.Experiments(ns).Create(t.Context(), &v1beta1.Experiment{ObjectMeta: metav1.ObjectMeta{Name: "kfp2"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	names := map[string]string{}
	for _, file := range files {
		rel, _ := filepath.Rel(shareddata.Dir(t, "kfp-v2"), file)
		name := strings.ToLower(strings.NewReplacer("_", "-", "/", "-", ".yaml", "").Replace(strings.TrimPrefix(rel, "valid/")))
		if len(name) > 50 {
			name = name[:50]
		}
		name = strings.Trim(name, "-")
		if other, ok := names[name]; ok {
			t.Fatalf("%s and %s make the same name %s", file, other, name)
		}
		names[name] = file
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			out, err := upload(t, framework.AdminUser, ns, file, "--name", "kfp2", "--version", name)
			if err != nil {
				t.Fatalf("kubectl pipelines upload %s: %v", file, err)
			}
			if out != name {
				t.Errorf("upload printed %q, want %q", out, name)
			}
			version, err := p.PipelineVersions(ns).Get(t.Context(), name, metav1.GetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			docs, err := pipelinespec.Documents(data)
			if err != nil {
				t.Fatal(err)
			}
			var sent, stored map[string]any
			if err := yaml.Unmarshal(docs[0], &sent); err != nil {
				t.Fatal(err)
			}
			if err := yaml.Unmarshal(version.Spec.PipelineSpec.Raw, &stored); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(sent, stored) {
				t.Errorf("the pipeline IR was not stored as given")
			}
			if (len(docs) > 1) != (len(version.Spec.PlatformSpec.Raw) > 0) || len(version.Spec.Workflow.Raw) > 0 {
				t.Errorf("%d documents; stored platform spec %d bytes, workflow %d bytes", len(docs), len(version.Spec.PlatformSpec.Raw), len(version.Spec.Workflow.Raw))
			}

			// The inputs, as the file declares them.
			want := shareddata.IRInputs(sent)
			var got []shareddata.IRInput
			for _, in := range version.Status.Parameters {
				got = append(got, shareddata.IRInput{Name: in.Name, Type: in.Type, Default: in.Default, Optional: in.Optional})
			}
			if !reflect.DeepEqual(show(got), show(want)) {
				t.Errorf("status.parameters:\n got %v\nwant %v", show(got), show(want))
			}

			var params []v1beta1.RunParameter
			for _, in := range want {
				if !in.Optional {
					params = append(params, v1beta1.RunParameter{Name: in.Name, Value: shareddata.RequiredValue(in.Type)})
				}
			}
			r := newRun(name, "kfp2", params...)
			r.Spec.PipelineRef.VersionName = name
			r.Spec.ServiceAccountName = "pipeline-runner"
			r, err = p.Runs(ns).Create(t.Context(), r, metav1.CreateOptions{})
			if err != nil {
				t.Fatal(err)
			}
			got2 := waitRun(t, c, ns, name, "a workflow", func(r *v1beta1.Run) bool {
				return r.Status.WorkflowName != "" || r.Status.Phase == v1beta1.RunPhaseError
			})
			if got2.Status.WorkflowName == "" {
				t.Fatalf("the run could not be executed: %s", got2.Status.Message)
			}
			wf, err := dyn.Resource(workflowsResource).Namespace(ns).Get(t.Context(), got2.Status.WorkflowName, metav1.GetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			// Only the compiled workflow is checked here: with no launcher image and no
			// containers (kwok), Argo's controller need not work through a hundred of them.
			t.Cleanup(func() {
				_ = dyn.Resource(workflowsResource).Namespace(ns).Delete(context.Background(), wf.GetName(), metav1.DeleteOptions{})
			})
			if ref := metav1.GetControllerOf(wf); ref == nil || ref.UID != r.UID || ref.Kind != "Run" {
				t.Errorf("workflow's controller %+v, want run %s", ref, r.UID)
			}
			if wf.GetLabels()[run.RunLabel] != name {
				t.Errorf("workflow labels %v", wf.GetLabels())
			}
			if sa, _, _ := unstructured.NestedString(wf.Object, "spec", "serviceAccountName"); sa != "pipeline-runner" {
				t.Errorf("workflow's service account %q", sa)
			}
			templates, _, _ := unstructured.NestedSlice(wf.Object, "spec", "templates")
			pods := 0
			for _, tmpl := range templates {
				tm := tmpl.(map[string]any)
				for _, k := range []string{"container", "script", "resource", "containerSet", "data", "http", "plugin"} {
					if tm[k] != nil {
						pods++
						if k != "container" {
							t.Errorf("template %v is a %s template", tm["name"], k)
						}
					}
				}
			}
			if wantPods := shareddata.ContainerTasks(sent, sent["root"].(map[string]any)); pods != wantPods {
				t.Errorf("%d pod templates, want %d: one per container task", pods, wantPods)
			}
		})
	}
}

// TestKFPv2RunParameterTypes: a run's values are checked against the types the
// pipeline IR declares, and its required inputs must be given.
func TestKFPv2RunParameterTypes(t *testing.T) {
	setup(t)
	ns := newNamespace(t)
	c := clientFor(t, framework.AdminUser)
	p := c.PipelinesV1beta1()
	if _, err := p.Experiments(ns).Create(t.Context(), &v1beta1.Experiment{ObjectMeta: metav1.ObjectMeta{Name: "typed"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Pipelines(ns).Create(t.Context(), &v1beta1.Pipeline{ObjectMeta: metav1.ObjectMeta{Name: "typed"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	const ir = `{"pipelineInfo": {"name": "typed"}, "schemaVersion": "2.1.0",
  "deploymentSpec": {"executors": {"exec-a": {"container": {"image": "alpine", "command": ["echo"]}}}},
  "components": {"comp-a": {"executorLabel": "exec-a", "inputDefinitions": {"parameters": {"n": {"parameterType": "NUMBER_INTEGER"}}}}},
  "root": {"inputDefinitions": {"parameters": {"n": {"parameterType": "NUMBER_INTEGER"},
      "items": {"parameterType": "LIST", "defaultValue": [1, 2]}}},
    "dag": {"tasks": {"a": {"taskInfo": {"name": "a"}, "componentRef": {"name": "comp-a"},
      "inputs": {"parameters": {"n": {"componentInputParameter": "n"}}}}}}}}`
	v := &v1beta1.PipelineVersion{ObjectMeta: metav1.ObjectMeta{Name: "typed"},
		Spec: v1beta1.PipelineVersionSpec{PipelineName: "typed", PipelineSpec: runtime.RawExtension{Raw: []byte(ir)}}}
	if _, err := p.PipelineVersions(ns).Create(t.Context(), v, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		params []v1beta1.RunParameter
		want   string
	}{
		{"integer not a number", []v1beta1.RunParameter{{Name: "n", Value: "seven"}}, "spec.parameters[0].value"},
		{"list not a list", []v1beta1.RunParameter{{Name: "n", Value: "7"}, {Name: "items", Value: `{"a":1}`}}, "spec.parameters[1].value"},
		{"required input left out", nil, `pipeline parameter "n" has no default`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := p.Runs(ns).Create(t.Context(), newRun("r", "typed", tc.params...), metav1.CreateOptions{})
			if !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("create run: %v, want 422 with %s", err, tc.want)
			}
		})
	}
	if _, err := p.Runs(ns).Create(t.Context(), newRun("r", "typed", v1beta1.RunParameter{Name: "n", Value: "7"}), metav1.CreateOptions{}); err != nil {
		t.Errorf("a well-typed run: %v", err)
	}
}

func show(in []shareddata.IRInput) []string {
	var out []string
	for _, i := range in {
		d := "<none>"
		if i.Default != nil {
			d = *i.Default
		}
		opt := ""
		if i.Optional {
			opt = " optional"
		}
		out = append(out, i.Type+" "+i.Name+"="+d+opt)
	}
	return out
}

// TestKFPv2Refused: kubectl pipelines upload refuses every file of kfp-v2/invalid
// with a reason, and the server refuses those that are objects with a 422 naming the
// field, storing nothing.
func TestKFPv2Refused(t *testing.T) {
	setup(t)
	files := shareddata.Files(t, "kfp-v2", "invalid")
	ns := newNamespace(t)
	c := clientFor(t, framework.AdminUser)
	p := c.PipelinesV1beta1()
	if _, err := p.Pipelines(ns).Create(t.Context(), &v1beta1.Pipeline{ObjectMeta: metav1.ObjectMeta{Name: "bad"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			_, err := upload(t, framework.AdminUser, ns, file, "--name", "bad", "--version", "v")
			if err == nil || len(err.Error()) < len(file)+10 {
				t.Fatalf("upload: %v, want a refusal saying why", err)
			}
			t.Logf("refused: %v", err)
			data, _ := os.ReadFile(file)
			docs, derr := pipelinespec.Documents(data)
			if derr != nil || len(docs) == 0 || !bytes.HasPrefix(docs[0], []byte("{")) {
				return // nothing the API could be sent
			}
			v := &v1beta1.PipelineVersion{ObjectMeta: metav1.ObjectMeta{Name: "direct"},
				Spec: v1beta1.PipelineVersionSpec{PipelineName: "bad", PipelineSpec: runtime.RawExtension{Raw: docs[0]}}}
			_, err = p.PipelineVersions(ns).Create(t.Context(), v, metav1.CreateOptions{})
			if !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), "spec.pipelineSpec") {
				t.Errorf("create: %v, want 422 naming spec.pipelineSpec", err)
			}
		})
	}
	list, err := p.PipelineVersions(ns).List(t.Context(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(list.Items) != 0 {
		t.Errorf("%d versions stored from refused files", len(list.Items))
	}
}
