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

package run

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	genericapirequest "k8s.io/apiserver/pkg/endpoints/request"
	"k8s.io/apiserver/pkg/registry/rest"
	corev1client "k8s.io/client-go/kubernetes/typed/core/v1"

	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/apis/pipelines"
	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/workflow"
)

// LogREST serves runs/log: the logs of the pods of the run's workflow. The caller was
// authorized for runs/log by the request itself; the pods are read with the server's
// own identity, so users need no access to pods.
type LogREST struct {
	runs rest.Getter
	pods corev1client.PodsGetter
	// stopping closes when the server begins to shut down.
	stopping <-chan struct{}
}

var _ rest.GetterWithOptions = &LogREST{}

// NewLogREST returns runs/log, reading runs from runs and logs through pods. Streams
// end when stopping closes (nil: never), as a follow would otherwise hold up the
// server's shutdown for as long as its step runs.
func NewLogREST(runs rest.Getter, pods corev1client.PodsGetter, stopping <-chan struct{}) *LogREST {
	return &LogREST{runs: runs, pods: pods, stopping: stopping}
}

// New implements rest.Storage.
func (r *LogREST) New() runtime.Object { return &pipelines.RunLogOptions{} }

// Destroy implements rest.Storage.
func (r *LogREST) Destroy() {}

// ProducesMIMETypes implements rest.StorageMetadata: logs are text.
func (r *LogREST) ProducesMIMETypes(string) []string { return []string{"text/plain"} }

// ProducesObject implements rest.StorageMetadata.
func (r *LogREST) ProducesObject(string) interface{} { return "" }

// NewGetOptions implements rest.GetterWithOptions.
func (r *LogREST) NewGetOptions() (runtime.Object, bool, string) {
	return &pipelines.RunLogOptions{}, false, ""
}

// Get implements rest.GetterWithOptions: it returns a stream of the logs.
func (r *LogREST) Get(ctx context.Context, name string, options runtime.Object) (runtime.Object, error) {
	opts := options.(*pipelines.RunLogOptions)
	if opts.TailLines != nil && *opts.TailLines < 0 {
		return nil, apierrors.NewBadRequest("tailLines must not be negative")
	}
	obj, err := r.runs.Get(ctx, name, &metav1.GetOptions{})
	if err != nil {
		return nil, err
	}
	run := obj.(*pipelines.Run)
	if run.Status.WorkflowName == "" {
		return nil, apierrors.NewBadRequest(fmt.Sprintf("run %q has no workflow yet: it is %s", name, run.Status.Phase))
	}
	ns, _ := genericapirequest.NamespaceFrom(ctx)
	pods, err := r.pods.Pods(ns).List(ctx, metav1.ListOptions{
		LabelSelector: labels.SelectorFromSet(labels.Set{workflow.PodWorkflowLabel: run.Status.WorkflowName}).String()})
	if err != nil {
		return nil, apierrors.NewInternalError(fmt.Errorf("listing the pods of workflow %s: %w", run.Status.WorkflowName, err))
	}
	steps := stepPods(pods.Items, opts.Step)
	if opts.Step != "" && len(steps) == 0 {
		return nil, apierrors.NewNotFound(pipelines.Resource("runs/log"), fmt.Sprintf("%s step %s", name, opts.Step))
	}
	return &logStream{pods: r.pods.Pods(ns), steps: steps, opts: opts, stopping: r.stopping}, nil
}

// step is a pod running one step of a workflow.
type step struct {
	name string
	pod  *corev1.Pod
}

// stepPods returns the pods of the steps named want (all if empty), oldest first.
func stepPods(pods []corev1.Pod, want string) []step {
	var steps []step
	for i := range pods {
		p := &pods[i]
		name := stepName(p)
		if want == "" || name == want || p.Name == want {
			steps = append(steps, step{name: name, pod: p})
		}
	}
	sort.SliceStable(steps, func(i, j int) bool {
		return steps[i].pod.CreationTimestamp.Before(&steps[j].pod.CreationTimestamp)
	})
	return steps
}

// stepName is the step a pod runs: the last part of Argo's node name
// ("workflow.step" or "workflow[0].step"), else the pod's name.
func stepName(p *corev1.Pod) string {
	node := p.Annotations[workflow.NodeNameAnnotation]
	if node == "" {
		return p.Name
	}
	return node[strings.LastIndex(node, ".")+1:]
}

// logStream is a rest.ResourceStreamer: the logs of its steps one after another,
// each line of a multi-step log prefixed with its step.
type logStream struct {
	metav1.TypeMeta // satisfies runtime.Object; a stream has no kind
	pods            corev1client.PodInterface
	steps           []step
	opts            *pipelines.RunLogOptions
	stopping        <-chan struct{}
}

var _ rest.ResourceStreamer = &logStream{}

func (s *logStream) DeepCopyObject() runtime.Object {
	c := *s
	return &c
}

// InputStream implements rest.ResourceStreamer.
func (s *logStream) InputStream(ctx context.Context, _, _ string) (io.ReadCloser, bool, string, error) {
	ctx, cancel := context.WithCancel(ctx)
	go func() {
		select {
		case <-s.stopping:
		case <-ctx.Done():
		}
		cancel()
	}()
	r, w := io.Pipe()
	go func() {
		defer cancel()
		for _, st := range s.steps {
			if err := s.copyStep(ctx, w, st); err != nil {
				_ = w.CloseWithError(err)
				return
			}
		}
		_ = w.Close()
	}()
	return r, s.opts.Follow, "text/plain", nil
}

func (s *logStream) copyStep(ctx context.Context, w io.Writer, st step) error {
	in, err := s.pods.GetLogs(st.pod.Name, &corev1.PodLogOptions{
		Container: workflow.MainContainer, Follow: s.opts.Follow, TailLines: s.opts.TailLines,
	}).Stream(ctx)
	if err != nil {
		return fmt.Errorf("reading the log of step %s (pod %s): %w", st.name, st.pod.Name, err)
	}
	defer in.Close()
	if len(s.steps) == 1 {
		_, err = io.Copy(w, in)
		return err
	}
	return copyPrefixed(w, in, "["+st.name+"] ")
}

// copyPrefixed copies in to w line by line, each line prefixed.
func copyPrefixed(w io.Writer, in io.Reader, prefix string) error {
	br := bufio.NewReader(in)
	for {
		line, err := br.ReadString('\n')
		if line != "" {
			if _, werr := io.WriteString(w, prefix+line); werr != nil {
				return werr
			}
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}
