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

// Package processkubelet is a stand-in kubelet that runs containers as host processes, for
// tests. It is not a kubelet and runs no container image: for an Argo step pod on kwok's node
// that it owns (Owns), once kwok has made the pod Running, it runs the main container's command
// and args with the host's tools, as root, in a private mount namespace where /kfp, /tmp, /s3,
// /minio, /gcs and the pod's emptyDir, ConfigMap and Secret volumes are directories of that pod
// alone, and /kfp/bin/pipelines-launcher is the launcher the caller built. It resolves the
// container's env (values, configMapKeyRef, secretKeyRef, fieldRef, envFrom) as a kubelet
// would, with the caller's (admin) credentials. When the process exits it does what Argo's wait
// container does, reporting the template's declared output parameters (read from their
// valueFrom.path files) in a complete WorkflowTaskResult, and then what a kubelet does: the pod
// ends Succeeded or Failed with the process's exit code. kwok holds the pods it owns Running
// (test/controlplane's kwok stages) so that only this ends them.
//
// What it cannot do: pull or run the user's image (the command must exist on the host, e.g.
// python3 from the kfp virtualenv that Config.Path puts first), isolate anything but mounts
// (no network, PID or user namespace, no resource limits), mount PVCs, host paths or the
// service-account token, run init containers or sidecars, or expand $(VAR) references.
package processkubelet

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/retry"
	"k8s.io/klog/v2"

	"github.com/pipelines-apiserver/pipelines-apiserver/test/podprocess"
)

const (
	// OutcomeAnnotation is kwok's annotation (test/controlplane.PodOutcomeAnnotation); the
	// value Process hands a pod to this stand-in.
	OutcomeAnnotation = "kwok.pipelines.kubeflow.org/outcome"
	// OutcomeProcess is the value of OutcomeAnnotation that makes a pod run as a process.
	OutcomeProcess = "Process"
	// LauncherInitContainer is the init container the compiler gives every task of a KFP 2.x
	// pipeline; such pods are this stand-in's too.
	LauncherInitContainer = "kfp-launcher"
	// LauncherPath is where a task's pod finds the launcher.
	LauncherPath = "/kfp/bin/pipelines-launcher"

	mainContainer   = "main"
	argoInit        = "init"
	argoTemplateEnv = "ARGO_TEMPLATE"
	argoOffloaded   = "ARGO_TEMPLATE_OFFLOADED"
	workflowLabel   = "workflows.argoproj.io/workflow"
	nodeIDAnnot     = "workflows.argoproj.io/node-id"
	completeLabel   = "workflows.argoproj.io/report-outputs-completed"
)

var (
	taskResults = schema.GroupVersionResource{Group: "argoproj.io", Version: "v1alpha1", Resource: "workflowtaskresults"}
	workflows   = schema.GroupVersionResource{Group: "argoproj.io", Version: "v1alpha1", Resource: "workflows"}
)

// Owns says whether pod runs as a process here: a pod annotated OutcomeAnnotation=Process,
// or a task of a KFP 2.x pipeline (it has the launcher's init container) with no outcome
// annotation.
func Owns(pod *corev1.Pod) bool {
	// A test that sets the outcome decides how the pod ends, launcher or not.
	if outcome, ok := pod.Annotations[OutcomeAnnotation]; ok {
		return outcome == OutcomeProcess
	}
	return slices.ContainsFunc(pod.Spec.InitContainers, func(c corev1.Container) bool { return c.Name == LauncherInitContainer })
}

// Logs receives a container's output: test/kubelet serves it for pods/log.
type Logs interface {
	Append(namespace, pod, container string, lines ...string)
	Exit(namespace, pod, container string)
}

// Config configures Start.
type Config struct {
	Client  kubernetes.Interface
	Dynamic dynamic.Interface
	// Node is the node whose pods to run (kwok's).
	Node string
	// Dir holds a directory per pod (its private directories and volumes) and its log.
	Dir string
	// Launcher is the pipelines-launcher binary bound at LauncherPath; empty leaves
	// LauncherPath absent.
	Launcher string
	// Path is put before the host's PATH (the kfp virtualenv's bin directory).
	Path []string
	// Env are variables every process gets before the container's own (e.g. PIP_NO_INDEX=1,
	// so that a component's pip fails at once rather than fetch what the host lacks).
	Env []string
	// ReadOnly are host directories each process sees read-only (the kfp virtualenv, which
	// the components' `pip install` must find complete and must not change).
	ReadOnly []string
	// Logs, if set, gets each main container's output lines.
	Logs Logs
	// Parallelism is how many processes run at once (default 4); the other pods wait,
	// Running, for their turn, so that many runs started at once do not swamp the machine.
	Parallelism int
	Logger      klog.Logger
}

// Kubelet runs the pods it owns until Stop.
type Kubelet struct {
	cfg    Config
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu      sync.Mutex
	running map[string]*exec.Cmd // by pod UID
	started map[string]bool
	slots   chan struct{}
}

// Start watches the node's pods and runs those it owns. It fails unless test/podprocess can
// start processes here (root, unshare).
func Start(ctx context.Context, cfg Config) (*Kubelet, error) {
	if cfg.Logger.GetSink() == nil {
		cfg.Logger = klog.Background()
	}
	cfg.Logger = klog.LoggerWithName(cfg.Logger, "process-kubelet-stand-in")
	if cfg.Parallelism <= 0 {
		cfg.Parallelism = 4
	}
	k := &Kubelet{cfg: cfg, running: map[string]*exec.Cmd{}, started: map[string]bool{}, slots: make(chan struct{}, cfg.Parallelism)}
	if err := podprocess.Check(); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(cfg.Dir, 0o700); err != nil {
		return nil, err
	}
	k.ctx, k.cancel = context.WithCancel(context.Background())
	factory := informers.NewSharedInformerFactoryWithOptions(cfg.Client, 10*time.Minute,
		informers.WithTweakListOptions(func(o *metav1.ListOptions) {
			o.LabelSelector = workflowLabel
			o.FieldSelector = "spec.nodeName=" + cfg.Node
		}))
	pods := factory.Core().V1().Pods().Informer()
	handle := func(obj any) {
		if pod, ok := obj.(*corev1.Pod); ok {
			k.handle(pod)
		}
	}
	if _, err := pods.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    handle,
		UpdateFunc: func(_, obj any) { handle(obj) },
		DeleteFunc: func(obj any) {
			if tomb, ok := obj.(cache.DeletedFinalStateUnknown); ok {
				obj = tomb.Obj
			}
			if pod, ok := obj.(*corev1.Pod); ok {
				k.kill(string(pod.UID))
			}
		},
	}); err != nil {
		return nil, err
	}
	factory.Start(k.ctx.Done())
	if !cache.WaitForCacheSync(ctx.Done(), pods.HasSynced) {
		k.Stop()
		return nil, errors.New("the process stand-in kubelet's pod informer did not sync")
	}
	return k, nil
}

// Stop kills the processes still running and waits for them.
func (k *Kubelet) Stop() {
	k.cancel()
	k.mu.Lock()
	for _, cmd := range k.running {
		if cmd.Process != nil {
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		}
	}
	k.mu.Unlock()
	k.wg.Wait()
}

func (k *Kubelet) kill(uid string) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if cmd := k.running[uid]; cmd != nil && cmd.Process != nil {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
}

// handle starts a pod's process once kwok has made it Running.
func (k *Kubelet) handle(pod *corev1.Pod) {
	if !Owns(pod) || pod.Status.Phase != corev1.PodRunning || pod.DeletionTimestamp != nil {
		return
	}
	k.mu.Lock()
	if k.started[string(pod.UID)] || k.ctx.Err() != nil {
		k.mu.Unlock()
		return
	}
	k.started[string(pod.UID)] = true
	k.wg.Add(1)
	k.mu.Unlock()
	go func() {
		defer k.wg.Done()
		k.run(pod.DeepCopy())
	}()
}

// run runs pod's main container and reports how it ended.
func (k *Kubelet) run(pod *corev1.Pod) {
	logger := klog.LoggerWithValues(k.cfg.Logger, "pod", klog.KObj(pod))
	ctx := k.ctx
	select {
	case k.slots <- struct{}{}:
		defer func() { <-k.slots }()
	case <-ctx.Done():
		return
	}
	// A pod deleted, or whose workflow was deleted, while it waited is not run.
	if !k.wanted(ctx, pod) {
		logger.V(2).Info("Not running a pod or workflow that is gone")
		return
	}
	started := time.Now()
	code, message, dir := k.runMain(ctx, pod, logger)
	if ctx.Err() != nil {
		return
	}
	tmpl, err := k.template(ctx, pod)
	if err != nil {
		logger.Error(err, "Reading the step's template")
	}
	if err := k.report(ctx, pod, tmpl, dir, code); err != nil {
		logger.Error(err, "Reporting the step's outputs")
		if message == "" {
			message = "reporting outputs: " + err.Error()
		}
		if code == 0 {
			code = 1
		}
	}
	if err := k.finish(ctx, pod, started, code, message); err != nil {
		logger.Error(err, "Ending the pod")
	}
	logger.V(2).Info("Step process ended", "exitCode", code)
}

// wanted says whether pod and its workflow still exist and are not being deleted.
func (k *Kubelet) wanted(ctx context.Context, pod *corev1.Pod) bool {
	p, err := k.cfg.Client.CoreV1().Pods(pod.Namespace).Get(ctx, pod.Name, metav1.GetOptions{})
	if err != nil || p.UID != pod.UID || p.DeletionTimestamp != nil {
		return false
	}
	owner := metav1.GetControllerOf(p)
	if owner == nil || owner.Kind != "Workflow" {
		return true
	}
	wf, err := k.cfg.Dynamic.Resource(workflows).Namespace(pod.Namespace).Get(ctx, owner.Name, metav1.GetOptions{})
	return err == nil && wf.GetUID() == owner.UID && wf.GetDeletionTimestamp() == nil
}

// runMain runs the main container as a process and returns its exit code, a message when it
// could not run, and the pod's directory.
func (k *Kubelet) runMain(ctx context.Context, pod *corev1.Pod, logger klog.Logger) (int, string, string) {
	dir := filepath.Join(k.cfg.Dir, pod.Namespace, pod.Name+"-"+string(pod.UID))
	i := slices.IndexFunc(pod.Spec.Containers, func(c corev1.Container) bool { return c.Name == mainContainer })
	if i < 0 {
		return 1, "no container " + mainContainer, dir
	}
	ctr := pod.Spec.Containers[i]
	argv := command(ctr)
	if len(argv) == 0 {
		return 1, "the main container names no command (the stand-in cannot read an image's entrypoint)", dir
	}
	env, err := k.env(ctx, pod, ctr)
	if err != nil {
		return 1, err.Error(), dir
	}
	binds, err := k.binds(ctx, pod, ctr, dir)
	if err != nil {
		return 1, err.Error(), dir
	}
	logPath := filepath.Join(dir, "main.log")
	out, err := os.Create(logPath)
	if err != nil {
		return 1, err.Error(), dir
	}
	defer out.Close()
	ro := map[string]string{}
	for _, d := range k.cfg.ReadOnly {
		ro[d] = d
	}
	cmd := podprocess.Command(context.Background(), podprocess.Options{Binds: binds, ReadOnly: ro, Env: env, Dir: ctr.WorkingDir}, argv[0], argv[1:]...)
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	k.mu.Lock()
	if err := cmd.Start(); err != nil {
		k.mu.Unlock()
		return 1, err.Error(), dir
	}
	k.running[string(pod.UID)] = cmd
	k.mu.Unlock()
	logger.V(2).Info("Step process started", "command", argv[0], "pid", cmd.Process.Pid)
	err = cmd.Wait()
	k.mu.Lock()
	delete(k.running, string(pod.UID))
	k.mu.Unlock()
	k.sendLog(pod, logPath)
	code := 0
	if err != nil {
		var exit *exec.ExitError
		if !errors.As(err, &exit) {
			return 1, err.Error(), dir
		}
		if code = exit.ExitCode(); code < 0 {
			code = 137
		}
	}
	return code, "", dir
}

// command is the container's command line as the user wrote it: Argo's emissary wraps it in
// "argoexec emissary ... --".
func command(ctr corev1.Container) []string {
	argv := slices.Clone(ctr.Command)
	if len(argv) > 0 && path.Base(argv[0]) == "argoexec" {
		if i := slices.Index(argv, "--"); i >= 0 {
			argv = argv[i+1:]
		} else {
			argv = nil
		}
	}
	return append(argv, ctr.Args...)
}

func (k *Kubelet) sendLog(pod *corev1.Pod, logPath string) {
	if k.cfg.Logs == nil {
		return
	}
	b, err := os.ReadFile(logPath)
	if err == nil && len(b) > 0 {
		k.cfg.Logs.Append(pod.Namespace, pod.Name, mainContainer, strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")...)
	}
	k.cfg.Logs.Exit(pod.Namespace, pod.Name, mainContainer)
}

// env is the container's environment as a kubelet builds it (envFrom, then env), after a PATH
// with Config.Path first.
func (k *Kubelet) env(ctx context.Context, pod *corev1.Pod, ctr corev1.Container) ([]string, error) {
	vars := map[string]string{"PATH": strings.Join(append(slices.Clone(k.cfg.Path), "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"), ":"),
		"HOME": "/tmp", "HOSTNAME": pod.Name}
	for _, kv := range k.cfg.Env {
		if n, v, ok := strings.Cut(kv, "="); ok {
			vars[n] = v
		}
	}
	for _, from := range ctr.EnvFrom {
		data, optional, err := map[string]string(nil), false, error(nil)
		switch {
		case from.ConfigMapRef != nil:
			optional = from.ConfigMapRef.Optional != nil && *from.ConfigMapRef.Optional
			data, err = k.configMap(ctx, pod.Namespace, from.ConfigMapRef.Name)
		case from.SecretRef != nil:
			optional = from.SecretRef.Optional != nil && *from.SecretRef.Optional
			data, err = k.secret(ctx, pod.Namespace, from.SecretRef.Name)
		}
		if err != nil && !(optional && apierrors.IsNotFound(err)) {
			return nil, fmt.Errorf("envFrom: %w", err)
		}
		for key, v := range data {
			vars[from.Prefix+key] = v
		}
	}
	for _, e := range ctr.Env {
		v, ok, err := k.envValue(ctx, pod, e)
		if err != nil {
			return nil, fmt.Errorf("env %s: %w", e.Name, err)
		}
		if ok {
			vars[e.Name] = v
		}
	}
	out := make([]string, 0, len(vars))
	for n, v := range vars {
		out = append(out, n+"="+v)
	}
	sort.Strings(out)
	return out, nil
}

// envValue resolves one variable; ok is false for an optional key that is absent.
func (k *Kubelet) envValue(ctx context.Context, pod *corev1.Pod, e corev1.EnvVar) (string, bool, error) {
	from := e.ValueFrom
	switch {
	case from == nil:
		return e.Value, true, nil
	case from.ConfigMapKeyRef != nil:
		ref := from.ConfigMapKeyRef
		data, err := k.configMap(ctx, pod.Namespace, ref.Name)
		return lookup(data, err, ref.Key, ref.Optional)
	case from.SecretKeyRef != nil:
		ref := from.SecretKeyRef
		data, err := k.secret(ctx, pod.Namespace, ref.Name)
		return lookup(data, err, ref.Key, ref.Optional)
	case from.FieldRef != nil:
		v, err := fieldValue(pod, from.FieldRef.FieldPath)
		return v, err == nil, err
	}
	return "", false, errors.New("unsupported valueFrom")
}

func lookup(data map[string]string, err error, key string, optional *bool) (string, bool, error) {
	opt := optional != nil && *optional
	if err != nil {
		if opt && apierrors.IsNotFound(err) {
			return "", false, nil
		}
		return "", false, err
	}
	v, ok := data[key]
	if !ok && !opt {
		return "", false, fmt.Errorf("key %q not found", key)
	}
	return v, ok, nil
}

// fieldValue is a kubelet's downward API for env.
func fieldValue(pod *corev1.Pod, fieldPath string) (string, error) {
	if inner, ok := strings.CutPrefix(fieldPath, "metadata.labels['"); ok {
		return pod.Labels[strings.TrimSuffix(inner, "']")], nil
	}
	if inner, ok := strings.CutPrefix(fieldPath, "metadata.annotations['"); ok {
		return pod.Annotations[strings.TrimSuffix(inner, "']")], nil
	}
	switch fieldPath {
	case "metadata.name":
		return pod.Name, nil
	case "metadata.namespace":
		return pod.Namespace, nil
	case "metadata.uid":
		return string(pod.UID), nil
	case "spec.nodeName":
		return pod.Spec.NodeName, nil
	case "spec.serviceAccountName":
		return pod.Spec.ServiceAccountName, nil
	case "status.podIP":
		return pod.Status.PodIP, nil
	case "status.hostIP":
		return pod.Status.HostIP, nil
	}
	return "", fmt.Errorf("fieldRef %q is not supported", fieldPath)
}

func (k *Kubelet) configMap(ctx context.Context, ns, name string) (map[string]string, error) {
	cm, err := k.cfg.Client.CoreV1().ConfigMaps(ns).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return nil, err
	}
	data := map[string]string{}
	for n, v := range cm.BinaryData {
		data[n] = string(v)
	}
	for n, v := range cm.Data {
		data[n] = v
	}
	return data, nil
}

func (k *Kubelet) secret(ctx context.Context, ns, name string) (map[string]string, error) {
	s, err := k.cfg.Client.CoreV1().Secrets(ns).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return nil, err
	}
	data := map[string]string{}
	for n, v := range s.Data {
		data[n] = string(v)
	}
	for n, v := range s.StringData {
		data[n] = v
	}
	return data, nil
}

// binds prepares the pod's directory and returns what test/podprocess binds where: the
// private directories, the container's volume mounts, and the launcher's directory.
func (k *Kubelet) binds(ctx context.Context, pod *corev1.Pod, ctr corev1.Container, dir string) (map[string]string, error) {
	targets := map[string]string{} // mount path -> source under dir
	for _, d := range podprocess.PodDirs {
		targets[d] = filepath.Join("private", d)
	}
	for _, m := range ctr.VolumeMounts {
		i := slices.IndexFunc(pod.Spec.Volumes, func(v corev1.Volume) bool { return v.Name == m.Name })
		if i < 0 {
			continue
		}
		v := pod.Spec.Volumes[i]
		src := filepath.Join("volumes", v.Name)
		var files map[string]string
		var err error
		switch {
		case v.EmptyDir != nil:
		case v.ConfigMap != nil:
			files, err = k.configMap(ctx, pod.Namespace, v.ConfigMap.Name)
			if err != nil && v.ConfigMap.Optional != nil && *v.ConfigMap.Optional && apierrors.IsNotFound(err) {
				err = nil
			}
		case v.Secret != nil:
			files, err = k.secret(ctx, pod.Namespace, v.Secret.SecretName)
			if err != nil && v.Secret.Optional != nil && *v.Secret.Optional && apierrors.IsNotFound(err) {
				err = nil
			}
		default:
			continue // PVCs, host paths, projected tokens: not here
		}
		if err != nil {
			return nil, fmt.Errorf("volume %s: %w", v.Name, err)
		}
		if err := os.MkdirAll(filepath.Join(dir, src), 0o777); err != nil {
			return nil, err
		}
		for name, data := range files {
			if err := os.WriteFile(filepath.Join(dir, src, filepath.Base(name)), []byte(data), 0o644); err != nil {
				return nil, err
			}
		}
		if m.SubPath != "" {
			src = filepath.Join(src, m.SubPath)
		}
		targets[path.Clean(m.MountPath)] = src
	}
	if k.cfg.Launcher != "" {
		// The launcher's directory (an emptyDir the init container fills, in a cluster).
		bin := filepath.Join(dir, "volumes", "launcher-bin")
		if err := os.MkdirAll(bin, 0o755); err != nil {
			return nil, err
		}
		if err := copyFile(k.cfg.Launcher, filepath.Join(bin, path.Base(LauncherPath))); err != nil {
			return nil, err
		}
		targets[path.Dir(LauncherPath)] = filepath.Join("volumes", "launcher-bin")
	}
	binds := map[string]string{}
	for at, src := range targets {
		if err := os.MkdirAll(filepath.Join(dir, src), 0o777); err != nil {
			return nil, err
		}
		binds[at] = filepath.Join(dir, src)
	}
	// The private /tmp must be writable by everyone, as an image's is.
	if err := os.Chmod(filepath.Join(dir, "private", "tmp"), 0o1777); err != nil {
		return nil, err
	}
	return binds, nil
}

// copyFile hard-links src to dst, or copies it.
func copyFile(src, dst string) error {
	if err := os.Link(src, dst); err == nil {
		return nil
	}
	data, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	return os.WriteFile(dst, data, 0o755)
}

// template is the Argo template the pod runs, from Argo's init container's ARGO_TEMPLATE (or
// the ConfigMap Argo offloads a large one to).
func (k *Kubelet) template(ctx context.Context, pod *corev1.Pod) (*template, error) {
	raw := ""
	for _, c := range pod.Spec.InitContainers {
		for _, e := range c.Env {
			if c.Name == argoInit && e.Name == argoTemplateEnv {
				raw = e.Value
			}
		}
	}
	if raw == argoOffloaded {
		data, err := k.configMap(ctx, pod.Namespace, pod.Name)
		if err != nil {
			return nil, err
		}
		raw = data[argoTemplateEnv]
	}
	if raw == "" {
		return nil, errors.New("the pod has no " + argoTemplateEnv)
	}
	var t template
	if err := json.Unmarshal([]byte(raw), &t); err != nil {
		return nil, fmt.Errorf("%s: %w", argoTemplateEnv, err)
	}
	return &t, nil
}

// template is the part of an Argo template the stand-in reads.
type template struct {
	Outputs struct {
		Parameters []struct {
			Name      string `json:"name"`
			ValueFrom *struct {
				Path    string  `json:"path,omitempty"`
				Default *string `json:"default,omitempty"`
			} `json:"valueFrom,omitempty"`
		} `json:"parameters,omitempty"`
	} `json:"outputs"`
}

// report writes the WorkflowTaskResult Argo's wait container writes: the template's output
// parameters read from the files the process left, and the exit code. An output whose file is
// missing is an error for a step that succeeded, as for argoexec, unless it has a default.
func (k *Kubelet) report(ctx context.Context, pod *corev1.Pod, tmpl *template, dir string, code int) error {
	nodeID := pod.Annotations[nodeIDAnnot]
	owner := metav1.GetControllerOf(pod)
	if nodeID == "" || owner == nil || owner.Kind != "Workflow" {
		return nil
	}
	outputs := map[string]any{"exitCode": strconv.Itoa(code)}
	var params []any
	var missing []string
	if tmpl != nil {
		for _, p := range tmpl.Outputs.Parameters {
			if p.ValueFrom == nil || p.ValueFrom.Path == "" {
				continue
			}
			b, err := os.ReadFile(k.hostPath(pod, dir, p.ValueFrom.Path))
			param := map[string]any{"name": p.Name, "valueFrom": map[string]any{"path": p.ValueFrom.Path}}
			switch {
			case err == nil:
				param["value"] = strings.TrimSpace(string(b))
			case p.ValueFrom.Default != nil:
				param["value"] = *p.ValueFrom.Default
			default:
				missing = append(missing, p.Name)
				continue
			}
			params = append(params, param)
		}
	}
	if len(params) > 0 {
		outputs["parameters"] = params
	}
	result := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "argoproj.io/v1alpha1",
		"kind":       "WorkflowTaskResult",
		"metadata": map[string]any{
			"name":      nodeID,
			"namespace": pod.Namespace,
			"labels":    map[string]any{workflowLabel: pod.Labels[workflowLabel], completeLabel: "true"},
			"ownerReferences": []any{map[string]any{
				"apiVersion": owner.APIVersion, "kind": owner.Kind, "name": owner.Name, "uid": string(owner.UID),
			}},
		},
		"outputs": outputs,
	}}
	client := k.cfg.Dynamic.Resource(taskResults).Namespace(pod.Namespace)
	if _, err := client.Create(ctx, result, metav1.CreateOptions{}); apierrors.IsAlreadyExists(err) {
		old, err := client.Get(ctx, nodeID, metav1.GetOptions{})
		if err != nil {
			return err
		}
		result.SetResourceVersion(old.GetResourceVersion())
		if _, err := client.Update(ctx, result, metav1.UpdateOptions{}); err != nil {
			return err
		}
	} else if err != nil {
		return err
	}
	if code == 0 && len(missing) > 0 {
		return fmt.Errorf("output parameters %s: no file", strings.Join(missing, ", "))
	}
	return nil
}

// hostPath is where a path inside the pod's mount namespace is on the host, for the
// directories the stand-in made.
func (k *Kubelet) hostPath(pod *corev1.Pod, dir, p string) string {
	p = path.Clean(p)
	best, src := "", ""
	consider := func(target, source string) {
		if (p == target || strings.HasPrefix(p, target+"/")) && len(target) > len(best) {
			best, src = target, source
		}
	}
	for _, d := range podprocess.PodDirs {
		consider(d, filepath.Join("private", d))
	}
	for _, c := range pod.Spec.Containers {
		if c.Name != mainContainer {
			continue
		}
		for _, m := range c.VolumeMounts {
			src := filepath.Join("volumes", m.Name)
			if m.SubPath != "" {
				src = filepath.Join(src, m.SubPath)
			}
			consider(path.Clean(m.MountPath), src)
		}
	}
	if best == "" {
		return p
	}
	return filepath.Join(dir, src, strings.TrimPrefix(p, best))
}

// finish ends the pod as a kubelet would once its containers exited: phase, container states.
func (k *Kubelet) finish(ctx context.Context, pod *corev1.Pod, started time.Time, code int, message string) error {
	return retry.RetryOnConflict(retry.DefaultRetry, func() error {
		p, err := k.cfg.Client.CoreV1().Pods(pod.Namespace).Get(ctx, pod.Name, metav1.GetOptions{})
		if err != nil {
			if apierrors.IsNotFound(err) {
				return nil
			}
			return err
		}
		now := metav1.Now()
		phase, reason := corev1.PodSucceeded, "Completed"
		if code != 0 {
			phase, reason = corev1.PodFailed, "Error"
		}
		p.Status.Phase = phase
		p.Status.Message = message
		for i, cs := range p.Status.ContainerStatuses {
			t := &corev1.ContainerStateTerminated{ExitCode: 0, Reason: "Completed", StartedAt: metav1.NewTime(started), FinishedAt: now}
			if cs.Name == mainContainer {
				t.ExitCode, t.Reason, t.Message = int32(code), reason, message
			}
			p.Status.ContainerStatuses[i].State = corev1.ContainerState{Terminated: t}
			p.Status.ContainerStatuses[i].Ready = false
			started := false
			p.Status.ContainerStatuses[i].Started = &started
		}
		for i, c := range p.Status.Conditions {
			if c.Type == corev1.PodReady || c.Type == corev1.ContainersReady {
				p.Status.Conditions[i].Status = corev1.ConditionFalse
				p.Status.Conditions[i].Reason = "PodCompleted"
				p.Status.Conditions[i].LastTransitionTime = now
			}
		}
		_, err = k.cfg.Client.CoreV1().Pods(pod.Namespace).UpdateStatus(ctx, p, metav1.UpdateOptions{})
		return err
	})
}

// Log returns what a pod's main container wrote, for tests.
func (k *Kubelet) Log(namespace, pod string) ([]byte, error) {
	matches, err := filepath.Glob(filepath.Join(k.cfg.Dir, namespace, pod+"-*", "main.log"))
	if err != nil || len(matches) == 0 {
		return nil, fmt.Errorf("no log of pod %s/%s: %v", namespace, pod, err)
	}
	return os.ReadFile(matches[0])
}
