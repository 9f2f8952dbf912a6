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

package launcher

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/launcherspec"
	"github.com/pipelines-apiserver/pipelines-apiserver/test/podprocess"
)

// A stand-in for Argo's controller and a kubelet, enough to run the workflows the
// compiler makes of pipelines whose DAGs have no conditions and no loops: it walks the
// entrypoint's DAG in dependency order, substitutes Argo's {{inputs.parameters.X}} and
// {{tasks.T.outputs.parameters.Y}} as Argo does, runs each container template's main
// container (the launcher, with the compiled arguments) as a pod's process
// (test/podprocess), and reads the template's outputs from the files its valueFrom
// names, as Argo's wait container does. Anything else in a workflow is refused by
// supported, so that a pipeline it cannot run is not run wrongly.

type workflow struct {
	Spec struct {
		Entrypoint string `json:"entrypoint"`
		Arguments  struct {
			Parameters []param `json:"parameters"`
		} `json:"arguments"`
		Templates []*template `json:"templates"`
	} `json:"spec"`
}

type param struct {
	Name      string  `json:"name"`
	Value     *string `json:"value,omitempty"`
	ValueFrom *struct {
		Path      string `json:"path,omitempty"`
		Parameter string `json:"parameter,omitempty"`
	} `json:"valueFrom,omitempty"`
}

type template struct {
	Name   string `json:"name"`
	Inputs struct {
		Parameters []param `json:"parameters"`
	} `json:"inputs"`
	Outputs struct {
		Parameters []param `json:"parameters"`
	} `json:"outputs"`
	DAG *struct {
		Tasks []*task `json:"tasks"`
	} `json:"dag,omitempty"`
	Container *container `json:"container,omitempty"`
	Metadata  struct {
		Labels      map[string]string `json:"labels"`
		Annotations map[string]string `json:"annotations"`
	} `json:"metadata"`
	Volumes []struct {
		Name   string `json:"name"`
		Secret *struct {
			SecretName string `json:"secretName"`
		} `json:"secret,omitempty"`
		ConfigMap *struct {
			Name string `json:"name"`
		} `json:"configMap,omitempty"`
		EmptyDir any `json:"emptyDir,omitempty"`
	} `json:"volumes"`
	// Whatever else a template may hold that the stand-in does not do.
	Steps    any `json:"steps,omitempty"`
	Script   any `json:"script,omitempty"`
	Resource any `json:"resource,omitempty"`
}

type container struct {
	Image        string   `json:"image"`
	Command      []string `json:"command"`
	Args         []string `json:"args"`
	VolumeMounts []struct {
		Name      string `json:"name"`
		MountPath string `json:"mountPath"`
	} `json:"volumeMounts"`
	Env []struct {
		Name      string          `json:"name"`
		Value     string          `json:"value"`
		ValueFrom json.RawMessage `json:"valueFrom,omitempty"`
	} `json:"env"`
}

type task struct {
	Name      string `json:"name"`
	Template  string `json:"template"`
	Depends   string `json:"depends,omitempty"`
	When      string `json:"when,omitempty"`
	WithItems any    `json:"withItems,omitempty"`
	WithParam string `json:"withParam,omitempty"`
	Arguments struct {
		Parameters []param `json:"parameters"`
	} `json:"arguments"`
}

// cluster is what a pod of the run sees of its namespace.
type cluster struct {
	Namespace string
	// ConfigMaps and Secrets by name, then key (the artifact store's settings).
	ConfigMaps, Secrets map[string]map[string]string
	// LauncherDir holds the launcher binary (what the init container copies).
	LauncherDir string
	// Env is added to every pod's environment (PATH and the like: what the image
	// would set).
	Env []string
	// ReadOnly are host directories the pods see read-only at the same paths.
	ReadOnly []string
	// Setup, if set, prepares a pod's working directory (the image's files).
	Setup func(t *testing.T, workDir string)
}

// podResult is one pod's run.
type podResult struct {
	Task     string
	Spec     *launcherspec.Spec
	Args     []string
	Output   string
	Err      error
	Outputs  map[string]string
	Duration time.Duration
}

// runResult is a workflow's run: its pods by task path, in the order they ran.
type runResult struct {
	Run  string
	Pods []*podResult
}

func (r *runResult) pod(task string) *podResult {
	for _, p := range r.Pods {
		if p.Task == task {
			return p
		}
	}
	return nil
}

func (wf *workflow) template(name string) *template {
	for _, t := range wf.Spec.Templates {
		if t.Name == name {
			return t
		}
	}
	return nil
}

// supported says why the stand-in cannot run wf, or nil.
func (wf *workflow) supported() error {
	seen := map[string]bool{}
	var check func(name string) error
	check = func(name string) error {
		if seen[name] {
			return nil
		}
		seen[name] = true
		t := wf.template(name)
		switch {
		case t == nil:
			return fmt.Errorf("no template %s", name)
		case t.Steps != nil || t.Script != nil || t.Resource != nil:
			return fmt.Errorf("template %s: not a DAG or a container", name)
		case t.Container != nil:
			return nil
		case t.DAG == nil:
			return fmt.Errorf("template %s: not a DAG or a container", name)
		}
		for _, tk := range t.DAG.Tasks {
			if tk.When != "" || tk.WithItems != nil || tk.WithParam != "" {
				return fmt.Errorf("task %s: conditions and loops are not run by the stand-in", tk.Name)
			}
			if strings.ContainsAny(tk.Depends, "|.!(") {
				return fmt.Errorf("task %s: depends %q is more than succeeded tasks", tk.Name, tk.Depends)
			}
			if err := check(tk.Template); err != nil {
				return err
			}
		}
		return nil
	}
	return check(wf.Spec.Entrypoint)
}

var (
	argoInput      = regexp.MustCompile(`\{\{inputs\.parameters\.([^{}]+)\}\}`)
	argoTaskOutput = regexp.MustCompile(`\{\{tasks\.([^.{}]+)\.outputs\.parameters\.([^{}]+)\}\}`)
	podCounter     atomic.Int64
)

// substitute replaces Argo's expressions in s: the template's inputs and its DAG's
// tasks' outputs.
func substitute(s string, inputs map[string]string, tasks map[string]map[string]string) (string, error) {
	var err error
	s = argoInput.ReplaceAllStringFunc(s, func(m string) string {
		n := argoInput.FindStringSubmatch(m)[1]
		v, ok := inputs[n]
		if !ok && err == nil {
			err = fmt.Errorf("%s: no such input", m)
		}
		return v
	})
	s = argoTaskOutput.ReplaceAllStringFunc(s, func(m string) string {
		g := argoTaskOutput.FindStringSubmatch(m)
		v, ok := tasks[g[1]][g[2]]
		if !ok && err == nil {
			err = fmt.Errorf("%s: no such output", m)
		}
		return v
	})
	return s, err
}

// run runs wf as the run named run in c. It stops at the first failed pod, as
// Argo's DAG does with its default fail-fast.
func (c *cluster) run(t *testing.T, ctx context.Context, wf *workflow, run string) (*runResult, error) {
	args := map[string]string{}
	for _, p := range wf.Spec.Arguments.Parameters {
		if p.Value != nil {
			args[p.Name] = *p.Value
		}
	}
	res := &runResult{Run: run}
	_, err := c.runTemplate(t, ctx, wf, wf.Spec.Entrypoint, "", args, run, res)
	return res, err
}

func (c *cluster) runTemplate(t *testing.T, ctx context.Context, wf *workflow, name, taskPath string, inputs map[string]string, run string, res *runResult) (map[string]string, error) {
	tmpl := wf.template(name)
	if tmpl.Container != nil {
		return c.runPod(t, ctx, tmpl, taskPath, inputs, run, res)
	}
	done := map[string]map[string]string{}
	for len(done) < len(tmpl.DAG.Tasks) {
		progressed := false
		for _, tk := range tmpl.DAG.Tasks {
			if done[tk.Name] != nil || !depsDone(tk.Depends, done) {
				continue
			}
			in := map[string]string{}
			for _, p := range tk.Arguments.Parameters {
				if p.Value == nil {
					continue
				}
				v, err := substitute(*p.Value, inputs, done)
				if err != nil {
					return nil, fmt.Errorf("task %s, argument %s: %w", tk.Name, p.Name, err)
				}
				in[p.Name] = v
			}
			out, err := c.runTemplate(t, ctx, wf, tk.Template, path.Join(taskPath, tk.Name), in, run, res)
			if err != nil {
				return nil, err
			}
			done[tk.Name] = out
			progressed = true
		}
		if !progressed {
			return nil, fmt.Errorf("template %s: a dependency cycle or a dependency on a missing task", name)
		}
	}
	out := map[string]string{}
	for _, p := range tmpl.Outputs.Parameters {
		if p.ValueFrom == nil || p.ValueFrom.Parameter == "" {
			return nil, fmt.Errorf("template %s output %s: only valueFrom.parameter is run by the stand-in", name, p.Name)
		}
		v, err := substitute(p.ValueFrom.Parameter, inputs, done)
		if err != nil {
			return nil, fmt.Errorf("template %s output %s: %w", name, p.Name, err)
		}
		out[p.Name] = v
	}
	return out, nil
}

var depName = regexp.MustCompile(`[A-Za-z0-9][A-Za-z0-9_-]*`)

func depsDone(depends string, done map[string]map[string]string) bool {
	for _, d := range depName.FindAllString(depends, -1) {
		if done[d] == nil {
			return false
		}
	}
	return true
}

// runPod runs a container template's main container as a pod's process.
func (c *cluster) runPod(t *testing.T, ctx context.Context, tmpl *template, taskPath string, inputs map[string]string, run string, res *runResult) (map[string]string, error) {
	pod := &podResult{Task: taskPath}
	res.Pods = append(res.Pods, pod)
	fail := func(err error) (map[string]string, error) {
		pod.Err = err
		return nil, fmt.Errorf("task %s: %w", taskPath, err)
	}
	var argv []string
	for _, a := range append(append([]string(nil), tmpl.Container.Command...), tmpl.Container.Args...) {
		s, err := substitute(a, inputs, nil)
		if err != nil {
			return fail(err)
		}
		argv = append(argv, s)
		if spec, ok := strings.CutPrefix(s, "--spec="); ok {
			if pod.Spec, err = launcherspec.Decode(spec); err != nil {
				return fail(fmt.Errorf("--spec: %w", err))
			}
		}
	}
	pod.Args = argv
	podName := fmt.Sprintf("%s-%s-%d", run, tmpl.Name, podCounter.Add(1))
	env := append([]string{"HOSTNAME=" + podName}, c.Env...)
	for _, e := range tmpl.Container.Env {
		v, err := c.envValue(tmpl, inputs, e.Name, e.Value, e.ValueFrom, run)
		if err != nil {
			return fail(err)
		}
		if v != nil {
			env = append(env, e.Name+"="+*v)
		}
	}
	outDir := t.TempDir()
	workDir := t.TempDir()
	if c.Setup != nil {
		c.Setup(t, workDir)
	}
	ro := map[string]string{launcherspec.BinDir: c.LauncherDir}
	// Secret and config map volumes, as the kubelet writes them: a file per key.
	for _, m := range tmpl.Container.VolumeMounts {
		for _, v := range tmpl.Volumes {
			if v.Name != m.Name || v.EmptyDir != nil {
				continue
			}
			var name string
			var objs map[string]map[string]string
			switch {
			case v.Secret != nil:
				name, objs = v.Secret.SecretName, c.Secrets
			case v.ConfigMap != nil:
				name, objs = v.ConfigMap.Name, c.ConfigMaps
			default:
				return fail(fmt.Errorf("volume %s: only secrets, config maps and emptyDirs are mounted by the stand-in", v.Name))
			}
			name, err := substitute(name, inputs, nil)
			if err != nil {
				return fail(err)
			}
			obj, ok := objs[name]
			if !ok {
				return fail(fmt.Errorf("volume %s: %s not found", v.Name, name))
			}
			dir := t.TempDir()
			for k, val := range obj {
				if err := os.WriteFile(filepath.Join(dir, k), []byte(val), 0o644); err != nil {
					return fail(err)
				}
			}
			ro[m.MountPath] = dir
		}
	}
	for _, d := range c.ReadOnly {
		ro[d] = d
	}
	cmd := podprocess.Command(ctx, podprocess.Options{
		Binds:    map[string]string{launcherspec.OutputDir: outDir, "/tmp/work": workDir},
		ReadOnly: ro,
		Env:      env,
		Dir:      "/tmp/work",
	}, argv[0], argv[1:]...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	err := cmd.Run()
	pod.Duration = time.Since(start)
	pod.Output = out.String()
	if err != nil {
		return fail(fmt.Errorf("%v; output:\n%s", err, pod.Output))
	}
	pod.Outputs = map[string]string{}
	for _, p := range tmpl.Outputs.Parameters {
		if p.ValueFrom == nil || !strings.HasPrefix(p.ValueFrom.Path, launcherspec.OutputDir+"/") {
			return fail(fmt.Errorf("output %s: not a file under %s", p.Name, launcherspec.OutputDir))
		}
		b, err := os.ReadFile(filepath.Join(outDir, strings.TrimPrefix(p.ValueFrom.Path, launcherspec.OutputDir)))
		if err != nil {
			// Argo fails a step whose output parameter file is missing.
			return fail(fmt.Errorf("output %s: %v; output:\n%s", p.Name, err, pod.Output))
		}
		pod.Outputs[p.Name] = string(b)
	}
	return pod.Outputs, nil
}

// envValue is an env var's value as the kubelet sets it: nil when an optional
// reference finds nothing.
func (c *cluster) envValue(tmpl *template, inputs map[string]string, name, value string, from json.RawMessage, run string) (*string, error) {
	if len(from) == 0 {
		return &value, nil
	}
	var vf struct {
		FieldRef *struct {
			FieldPath string `json:"fieldPath"`
		} `json:"fieldRef"`
		ConfigMapKeyRef, SecretKeyRef *struct {
			Name, Key string
			Optional  bool
		}
	}
	if err := json.Unmarshal(from, &vf); err != nil {
		return nil, fmt.Errorf("env %s: %w", name, err)
	}
	switch {
	case vf.FieldRef != nil:
		switch vf.FieldRef.FieldPath {
		case "metadata.labels['pipelines.kubeflow.org/run']":
			return &run, nil
		case "metadata.namespace":
			return &c.Namespace, nil
		}
		fp := vf.FieldRef.FieldPath
		for prefix, m := range map[string]map[string]string{"metadata.labels": tmpl.Metadata.Labels, "metadata.annotations": tmpl.Metadata.Annotations} {
			if k, ok := strings.CutPrefix(fp, prefix+"['"); ok {
				v, err := substitute(m[strings.TrimSuffix(k, "']")], inputs, nil)
				return &v, err
			}
		}
		return nil, fmt.Errorf("env %s: fieldRef %s is not known to the stand-in", name, vf.FieldRef.FieldPath)
	case vf.ConfigMapKeyRef != nil || vf.SecretKeyRef != nil:
		ref, objs, kind := vf.ConfigMapKeyRef, c.ConfigMaps, "config map"
		if ref == nil {
			ref, objs, kind = vf.SecretKeyRef, c.Secrets, "secret"
		}
		if v, ok := objs[ref.Name][ref.Key]; ok {
			return &v, nil
		}
		if ref.Optional {
			return nil, nil
		}
		return nil, fmt.Errorf("env %s: %s %s has no key %s", name, kind, ref.Name, ref.Key)
	}
	return nil, fmt.Errorf("env %s: valueFrom %s is not known to the stand-in", name, from)
}
