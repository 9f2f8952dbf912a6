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

// Package launcher is cmd/pipelines-launcher: it runs a KFP component inside a task's
// pod as the executor contract of pkg/launcherspec says (docs/execution.md, "The
// launcher"). It builds the executor input, downloads the input artifacts, resolves
// the placeholders of the component's command, runs it, uploads the output artifacts
// and writes the outputs for Argo to hand on.
package launcher

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"syscall"

	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/launcherspec"
	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/objectstore"
	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/pipelinespec"
)

const (
	// WorkDir holds the files the launcher gives the component: the executor
	// output file and the output parameters' files.
	WorkDir = "/tmp/kfp_outputs"
	// PodEnv is the pod's name in its containers (a pod's hostname is its name):
	// it makes output artifact URIs unique per loop iteration and retry.
	PodEnv = "HOSTNAME"
)

// ExitError is a failure of the component's command: the launcher exits with its
// code.
type ExitError struct{ Code int }

func (e *ExitError) Error() string {
	return fmt.Sprintf("the component's command exited with code %d", e.Code)
}

// Launcher runs one task. The zero value is not usable; Main fills it from the
// command line and environment.
type Launcher struct {
	Spec       *launcherspec.Spec
	Parameters map[string]string
	Artifacts  map[string]string
	// Run, Namespace, Pod: from the environment.
	Run, Namespace, Pod string
	// Store opens the object store; nil means from the environment.
	Store func(context.Context) (*objectstore.Store, error)
	// PipelineRoot is the root when the spec has none.
	PipelineRoot string
	// OutputDir is launcherspec.OutputDir unless set (tests).
	OutputDir string
	Stdout    io.Writer
	Stderr    io.Writer
	Stdin     io.Reader
}

// Main runs the launcher with args (without the program name) and returns the exit
// code; errors are written to stderr.
func Main(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) > 0 && args[0] == launcherspec.CopyCommand {
		if len(args) != 2 {
			fmt.Fprintf(stderr, "pipelines-launcher: usage: pipelines-launcher %s DESTINATION\n", launcherspec.CopyCommand)
			return 2
		}
		if err := copySelf(args[1]); err != nil {
			fmt.Fprintf(stderr, "pipelines-launcher: %v\n", err)
			return 1
		}
		return 0
	}
	l, err := Parse(args)
	if err != nil {
		fmt.Fprintf(stderr, "pipelines-launcher: %v\n", err)
		return 2
	}
	l.Stdin, l.Stdout, l.Stderr = stdin, stdout, stderr
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	if err := l.Execute(ctx); err != nil {
		var exit *ExitError
		if errors.As(err, &exit) {
			fmt.Fprintf(stderr, "pipelines-launcher: %v\n", err)
			return exit.Code
		}
		fmt.Fprintf(stderr, "pipelines-launcher: task %s: %v\n", l.Spec.Task, err)
		return 1
	}
	return 0
}

// copySelf copies the running binary to dst: the init container's job.
func copySelf(dst string) error {
	self, err := os.Executable()
	if err != nil {
		return err
	}
	in, err := os.Open(self)
	if err != nil {
		return err
	}
	defer in.Close()
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o755)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return fmt.Errorf("copy to %s: %w", dst, err)
	}
	return out.Close()
}

// pairs is a repeated NAME=VALUE flag.
type pairs map[string]string

func (p pairs) String() string { return "" }

func (p pairs) Set(s string) error {
	name, value, ok := strings.Cut(s, "=")
	if !ok || name == "" {
		return fmt.Errorf("want NAME=VALUE, got %q", s)
	}
	if _, dup := p[name]; dup {
		return fmt.Errorf("%s given twice", name)
	}
	p[name] = value
	return nil
}

// Parse reads the command line and the environment.
func Parse(args []string) (*Launcher, error) {
	fs := flag.NewFlagSet("pipelines-launcher", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	spec := fs.String("spec", "", "the task's launcherspec.Spec as JSON")
	params, arts := pairs{}, pairs{}
	fs.Var(params, "parameter", "NAME=VALUE: an input parameter's value (repeated)")
	fs.Var(arts, "artifact", "NAME=VALUE: an input artifact (repeated)")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if *spec == "" {
		return nil, fmt.Errorf("--spec is required")
	}
	s, err := launcherspec.Decode(*spec)
	if err != nil {
		return nil, fmt.Errorf("--spec: %w", err)
	}
	pod := os.Getenv(PodEnv)
	return &Launcher{
		Spec: s, Parameters: params, Artifacts: arts,
		Run: os.Getenv(launcherspec.RunEnv), Namespace: os.Getenv(launcherspec.NamespaceEnv), Pod: pod,
		PipelineRoot: os.Getenv(launcherspec.PipelineRootEnv),
	}, nil
}

// Execute runs the task.
func (l *Launcher) Execute(ctx context.Context) error {
	if l.OutputDir == "" {
		l.OutputDir = launcherspec.OutputDir
	}
	if l.Stdout == nil {
		l.Stdout = os.Stdout
	}
	if l.Stderr == nil {
		l.Stderr = os.Stderr
	}
	if len(l.Spec.Container.Command) == 0 {
		return fmt.Errorf("the executor has no command: the launcher replaces the image's entrypoint, so the component must name its program")
	}
	in, err := l.executorInput()
	if err != nil {
		return err
	}
	var store *objectstore.Store
	openStore := func() (*objectstore.Store, error) {
		if store != nil {
			return store, nil
		}
		var err error
		if l.Store != nil {
			store, err = l.Store(ctx)
		} else {
			store, err = storeFromEnv(ctx)
		}
		return store, err
	}
	if err := l.download(ctx, in, openStore); err != nil {
		return err
	}
	if err := prepareOutputs(in); err != nil {
		return err
	}
	r := &resolver{in: in, job: l.Run, task: l.Spec.Task, root: l.root()}
	c := l.Spec.Container
	argv, err := r.resolve(append(append([]string(nil), c.Command...), c.Args...))
	if err != nil {
		return err
	}
	if len(argv) == 0 {
		return fmt.Errorf("the executor's command is empty once its placeholders are resolved")
	}
	if err := l.runCommand(ctx, argv); err != nil {
		return err
	}
	out, err := readOutputs(in, l.Spec.Outputs)
	if err != nil {
		return err
	}
	if err := l.upload(ctx, in, out, openStore); err != nil {
		return err
	}
	return l.writeOutputs(out)
}

func storeFromEnv(ctx context.Context) (*objectstore.Store, error) {
	c, err := objectstore.ConfigFromEnv()
	if err != nil {
		return nil, err
	}
	return objectstore.Open(ctx, c)
}

func (l *Launcher) root() string {
	if l.Spec.PipelineRoot != "" {
		return l.Spec.PipelineRoot
	}
	return l.PipelineRoot
}

// executorInput builds {{$}} from the spec and the flags.
func (l *Launcher) executorInput() (*ExecutorInput, error) {
	in := &ExecutorInput{Inputs: ExecutorInputs{
		ParameterValues: map[string]any{},
		Artifacts:       map[string]*launcherspec.ArtifactList{},
	}}
	var defs pipelinespec.InputsSpec
	if l.Spec.Inputs != nil {
		defs = *l.Spec.Inputs
	}
	// A task may have inputs its component does not declare (the SDK's
	// pipelinechannel-- inputs that resource and platform settings name): they are
	// handed on as strings, for the placeholders that name them.
	for _, name := range sortedKeys(l.Parameters) {
		if defs.Parameters[name] == nil {
			in.Inputs.ParameterValues[name] = l.Parameters[name]
		}
	}
	for name := range l.Artifacts {
		if defs.Artifacts[name] == nil {
			return nil, fmt.Errorf("--artifact %s: the component has no such input artifact", name)
		}
	}
	for _, name := range sortedKeys(defs.Parameters) {
		def := defs.Parameters[name]
		raw, given := l.Parameters[name]
		how := l.Spec.Parameters[name]
		var v any
		switch {
		case given && how.FinalStatusOf != "":
			v = FinalStatus(raw, l.Spec.PipelineName, l.Run, how.FinalStatusOf)
		case given:
			for _, sel := range how.Selectors {
				var err error
				if raw, err = Select(sel, raw); err != nil {
					return nil, fmt.Errorf("input parameter %s: %w", name, err)
				}
			}
			var err error
			if v, err = ParseValue(def.ParameterType, raw); err != nil {
				return nil, fmt.Errorf("input parameter %s: %w", name, err)
			}
		case def.DefaultValue != nil:
			var err error
			if v, err = Convert(def.ParameterType, def.DefaultValue); err != nil {
				return nil, fmt.Errorf("input parameter %s: default: %w", name, err)
			}
		case def.IsOptional:
			continue
		default:
			return nil, fmt.Errorf("input parameter %s: no value given and no default", name)
		}
		in.Inputs.ParameterValues[name] = v
	}
	for _, name := range sortedKeys(defs.Artifacts) {
		def := defs.Artifacts[name]
		raw, given := l.Artifacts[name]
		if !given || raw == "" {
			if def.IsOptional {
				continue
			}
			return nil, fmt.Errorf("input artifact %s: no value given", name)
		}
		list, err := parseArtifacts(raw, def, l.Spec.Artifacts[name])
		if err != nil {
			return nil, fmt.Errorf("input artifact %s: %w", name, err)
		}
		in.Inputs.Artifacts[name] = list
	}
	root := l.root()
	pod := l.Pod
	if pod == "" {
		pod = randomID()
	}
	// The task's root in the store holds its output artifacts. The executor output
	// file goes under its local path, as kfp.dsl takes the directory of that file for
	// the task root that dsl.get_uri() returns (a pythonic artifact's URI).
	taskRoot := ""
	in.Outputs.OutputFile = path.Join(WorkDir, "output_metadata.json")
	if root != "" {
		taskRoot = OutputURI(root, l.Namespace, l.Run, l.Spec.Task, pod, "")
		if inStore(taskRoot) {
			in.Outputs.OutputFile = path.Join(LocalPath(taskRoot), "executor_output.json")
		}
	}
	out := l.Spec.Outputs
	if out == nil {
		return in, nil
	}
	for _, name := range sortedKeys(out.Parameters) {
		if in.Outputs.Parameters == nil {
			in.Outputs.Parameters = map[string]*OutputParameter{}
		}
		in.Outputs.Parameters[name] = &OutputParameter{OutputFile: path.Join(WorkDir, "parameters", name, "data")}
	}
	if len(out.Artifacts) > 0 && root == "" {
		return nil, fmt.Errorf("no pipeline root for the output artifacts: the run gives none and %s is not set (the namespace's ConfigMap pipelines-artifacts, key pipelineRoot)", launcherspec.PipelineRootEnv)
	}
	for _, name := range sortedKeys(out.Artifacts) {
		if in.Outputs.Artifacts == nil {
			in.Outputs.Artifacts = map[string]*launcherspec.ArtifactList{}
		}
		def := out.Artifacts[name]
		in.Outputs.Artifacts[name] = &launcherspec.ArtifactList{Artifacts: []launcherspec.Artifact{{
			Name:     name,
			Type:     def.ArtifactType,
			URI:      taskRoot + "/" + name,
			Metadata: def.Metadata,
		}}}
	}
	return in, nil
}

// OutputURI is where an output artifact is written:
// <root>/<namespace>/<run>/<task path>/<pod>/<artifact>. The pod's name differs
// between the iterations of a loop and the retries of a task.
func OutputURI(root, namespace, run, task, pod, artifact string) string {
	parts := []string{strings.TrimRight(root, "/")}
	for _, p := range []string{namespace, run, task, pod, artifact} {
		if p = strings.Trim(p, "/"); p != "" {
			parts = append(parts, p)
		}
	}
	return strings.Join(parts, "/")
}

func randomID() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// parseArtifacts reads an --artifact value: an importer's URI, an ArtifactList or
// one artifact as JSON, a JSON list of those (a collected loop output), or a bare
// URI.
func parseArtifacts(raw string, def *pipelinespec.ArtifactSpec, how launcherspec.ArtifactInput) (*launcherspec.ArtifactList, error) {
	list := &launcherspec.ArtifactList{}
	if imp := how.Imported; imp != nil {
		list.Artifacts = []launcherspec.Artifact{{Type: imp.TypeSchema, URI: raw, Metadata: imp.Metadata}}
	} else if t := strings.TrimSpace(raw); strings.HasPrefix(t, "{") || strings.HasPrefix(t, "[") {
		v, err := decodeJSON(t)
		if err != nil {
			return nil, fmt.Errorf("not JSON: %v", err)
		}
		if err := collectArtifacts(v, list); err != nil {
			return nil, err
		}
	} else {
		list.Artifacts = []launcherspec.Artifact{{URI: raw}}
	}
	for i := range list.Artifacts {
		a := &list.Artifacts[i]
		if a.Type.SchemaTitle == "" {
			a.Type = def.ArtifactType
		}
		if a.URI == "" {
			return nil, fmt.Errorf("an artifact without a URI")
		}
	}
	if len(list.Artifacts) > 1 && !def.IsArtifactList {
		return nil, fmt.Errorf("%d artifacts for an input that takes one", len(list.Artifacts))
	}
	return list, nil
}

// collectArtifacts adds the artifacts v holds to list: an ArtifactList, one
// artifact, or a list of either (Argo gathers the outputs of a loop's iterations into
// a JSON list, with each item as JSON or as a string of JSON).
func collectArtifacts(v any, list *launcherspec.ArtifactList) error {
	switch v := v.(type) {
	case string:
		w, err := decodeJSON(v)
		if err != nil {
			return fmt.Errorf("item %q is not JSON", v)
		}
		return collectArtifacts(w, list)
	case []any:
		for _, item := range v {
			if err := collectArtifacts(item, list); err != nil {
				return err
			}
		}
		return nil
	case map[string]any:
		b, _ := json.Marshal(v)
		if _, ok := v["artifacts"]; ok {
			var l launcherspec.ArtifactList
			if err := json.Unmarshal(b, &l); err != nil {
				return fmt.Errorf("not an artifact list: %v", err)
			}
			list.Artifacts = append(list.Artifacts, l.Artifacts...)
			return nil
		}
		var a launcherspec.Artifact
		if err := json.Unmarshal(b, &a); err != nil {
			return fmt.Errorf("not an artifact: %v", err)
		}
		list.Artifacts = append(list.Artifacts, a)
		return nil
	}
	return fmt.Errorf("not an artifact: %s", jsonString(v))
}

// inStore says whether uri is in the S3 store.
func inStore(uri string) bool {
	return strings.HasPrefix(uri, "s3://") || strings.HasPrefix(uri, "minio://")
}

// metricsTypes are the artifact types whose content is their metadata; a component
// often writes no file for them.
var metricsTypes = map[string]bool{"system.Metrics": true, "system.ClassificationMetrics": true, "system.SlicedClassificationMetrics": true}

// download fetches every input artifact in the store to its local path.
func (l *Launcher) download(ctx context.Context, in *ExecutorInput, open func() (*objectstore.Store, error)) error {
	for _, name := range sortedKeys(in.Inputs.Artifacts) {
		for _, a := range in.Inputs.Artifacts[name].Artifacts {
			if !inStore(a.URI) {
				fmt.Fprintf(l.Stderr, "pipelines-launcher: input artifact %s: %s is not in the S3 store; not downloaded\n", name, a.URI)
				continue
			}
			s, err := open()
			if err != nil {
				return err
			}
			if err := s.Get(ctx, a.URI, LocalPath(a.URI)); err != nil {
				if errors.Is(err, objectstore.ErrNotFound) && metricsTypes[a.Type.SchemaTitle] {
					continue
				}
				return fmt.Errorf("input artifact %s: %w", name, err)
			}
		}
	}
	return nil
}

// prepareOutputs makes the directories the component writes its outputs in.
func prepareOutputs(in *ExecutorInput) error {
	dirs := []string{filepath.Dir(in.Outputs.OutputFile)}
	for _, p := range in.Outputs.Parameters {
		dirs = append(dirs, filepath.Dir(p.OutputFile))
	}
	for _, l := range in.Outputs.Artifacts {
		for _, a := range l.Artifacts {
			dirs = append(dirs, filepath.Dir(LocalPath(a.URI)))
		}
	}
	for _, d := range dirs {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return fmt.Errorf("output directory: %w", err)
		}
	}
	return nil
}

// runCommand runs the component's command with the launcher's standard streams,
// passing termination signals on.
func (l *Launcher) runCommand(ctx context.Context, argv []string) error {
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = l.Stdin, l.Stdout, l.Stderr
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start the component's command %q: %w", argv[0], err)
	}
	done := make(chan struct{})
	go func() {
		select {
		case <-ctx.Done():
			_ = cmd.Process.Signal(syscall.SIGTERM)
		case <-done:
		}
	}()
	err := cmd.Wait()
	close(done)
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		code := exit.ExitCode()
		if code <= 0 {
			code = 1 // killed by a signal
		}
		return &ExitError{Code: code}
	}
	return err
}

// outputs are the task's outputs once its command has run.
type outputs struct {
	// parameters in the run-parameter encoding.
	parameters map[string]string
	artifacts  map[string]*launcherspec.ArtifactList
}

// readOutputs reads the executor output file, if the component wrote one, and the
// output parameters' files.
func readOutputs(in *ExecutorInput, defs *pipelinespec.OutputsSpec) (*outputs, error) {
	var eo ExecutorOutput
	b, err := os.ReadFile(in.Outputs.OutputFile)
	switch {
	case err == nil:
		dec := json.NewDecoder(strings.NewReader(string(b)))
		dec.UseNumber()
		if err := dec.Decode(&eo); err != nil {
			return nil, fmt.Errorf("executor output %s: %w", in.Outputs.OutputFile, err)
		}
	case !os.IsNotExist(err):
		return nil, err
	}
	out := &outputs{parameters: map[string]string{}, artifacts: map[string]*launcherspec.ArtifactList{}}
	if defs == nil {
		return out, nil
	}
	for _, name := range sortedKeys(defs.Parameters) {
		t := defs.Parameters[name].ParameterType
		var v any
		if ev, ok := eo.ParameterValues[name]; ok {
			if v, err = Convert(t, ev); err != nil {
				return nil, fmt.Errorf("output parameter %s: %w", name, err)
			}
		} else {
			b, err := os.ReadFile(in.Outputs.Parameters[name].OutputFile)
			if os.IsNotExist(err) {
				return nil, fmt.Errorf("output parameter %s: the component wrote no value (neither in %s nor in %s)", name, in.Outputs.OutputFile, in.Outputs.Parameters[name].OutputFile)
			}
			if err != nil {
				return nil, err
			}
			if v, err = ParseValue(t, string(b)); err != nil {
				return nil, fmt.Errorf("output parameter %s: %w", name, err)
			}
		}
		out.parameters[name] = Format(v)
	}
	for _, name := range sortedKeys(defs.Artifacts) {
		planned := in.Outputs.Artifacts[name]
		got := planned
		if l := eo.Artifacts[name]; l != nil && len(l.Artifacts) > 0 {
			got = &launcherspec.ArtifactList{}
			for i, a := range l.Artifacts {
				p := planned.Artifacts[0]
				if i < len(planned.Artifacts) {
					p = planned.Artifacts[i]
				}
				if a.URI == "" {
					a.URI = p.URI
				}
				if a.Name == "" {
					a.Name = p.Name
				}
				a.Type = p.Type
				got.Artifacts = append(got.Artifacts, a)
			}
		}
		out.artifacts[name] = got
	}
	return out, nil
}

// upload puts each output artifact's local file or directory into the store. An
// artifact the component moved to a local path (Artifact.path set to a path outside
// /s3 and /minio) is uploaded from there to the URI planned for it.
func (l *Launcher) upload(ctx context.Context, in *ExecutorInput, out *outputs, open func() (*objectstore.Store, error)) error {
	for _, name := range sortedKeys(out.artifacts) {
		list := out.artifacts[name]
		for i := range list.Artifacts {
			a := &list.Artifacts[i]
			local := LocalPath(a.URI)
			if !inStore(a.URI) {
				if strings.Contains(a.URI, "://") {
					return fmt.Errorf("output artifact %s: %s is not in the S3 store", name, a.URI)
				}
				a.URI = in.Outputs.Artifacts[name].Artifacts[0].URI
			}
			if _, err := os.Stat(local); os.IsNotExist(err) {
				// Nothing written (a metrics artifact holds its values in its
				// metadata): the artifact is handed on without content.
				continue
			}
			s, err := open()
			if err != nil {
				return err
			}
			if err := s.Put(ctx, a.URI, local); err != nil {
				return fmt.Errorf("output artifact %s: %w", name, err)
			}
		}
	}
	return nil
}

// writeOutputs writes the outputs where Argo reads them.
func (l *Launcher) writeOutputs(out *outputs) error {
	for _, kind := range []string{"parameters", "artifacts"} {
		if err := os.MkdirAll(filepath.Join(l.OutputDir, kind), 0o755); err != nil {
			return err
		}
	}
	for name, v := range out.parameters {
		if err := os.WriteFile(filepath.Join(l.OutputDir, "parameters", name), []byte(v), 0o644); err != nil {
			return err
		}
	}
	for name, list := range out.artifacts {
		if err := os.WriteFile(filepath.Join(l.OutputDir, "artifacts", name), []byte(jsonString(list)), 0o644); err != nil {
			return err
		}
	}
	return nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
