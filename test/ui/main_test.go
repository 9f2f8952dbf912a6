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

// Package ui tests the web UI in a real headless Chromium (Debian's chromium package,
// hack/ensure-chromium.sh), driven over the DevTools protocol with chromedp, against the
// whole local environment of test/execution: the server, kube-apiserver with Argo's CRDs,
// Argo's own workflow controller, kwok simulating the node, a stand-in kubelet serving
// logs and the process stand-in kubelet running the tasks of KFP 2.x pipelines as host
// processes (those whose pods a test does not annotate with the outcome kwok gives them). Each test serves the UI with `kubectl pipelines ui` (the plugin's command, run
// in-process) as one of the framework's users, opens the URL it prints and checks what
// that user sees. The tests write the screenshots docs/img/ui-*.png.
package ui

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/client-go/dynamic"
	"k8s.io/klog/v2"

	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/apis/pipelines/v1beta1"
	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/cmd/plugin"
	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/generated/clientset/versioned"
	"github.com/pipelines-apiserver/pipelines-apiserver/test/controlplane"
	"github.com/pipelines-apiserver/pipelines-apiserver/test/framework"
	"github.com/pipelines-apiserver/pipelines-apiserver/test/kfpsdk"
	"github.com/pipelines-apiserver/pipelines-apiserver/test/kubelet"
	"github.com/pipelines-apiserver/pipelines-apiserver/test/processkubelet"
	"github.com/pipelines-apiserver/pipelines-apiserver/test/shareddata"
)

// shared is the test data beside the repository (always present in CI), or beside
// the folder of a worktree; "" when there is none, which TestMain reports.
var shared, _ = shareddata.Root()

const (
	// defaultWait bounds waiting for the controllers and the browser, on a busy machine.
	defaultWait = 45 * time.Second

	// Argo's names, as its controller writes them.
	workflowLabel      = "workflows.argoproj.io/workflow"
	nodeNameAnnotation = "workflows.argoproj.io/node-name"
	mainContainer      = "main"

	// viewer is a user bound to the built-in ClusterRole view in team-a only.
	viewer = "vera"
)

var (
	env    *framework.Environment
	envErr error
	node   *kubelet.Kubelet
	// processes runs the pods of KFP 2.x tasks as host processes, with launcherPath.
	processes    *processkubelet.Kubelet
	launcherPath string
	// browser is the Chromium every test opens its tabs in.
	browser context.Context
)

func TestMain(m *testing.M) {
	flag.Parse()
	crd := filepath.Join(shared, "argo", "workflows-crd-full.yaml")
	others := filepath.Join(shared, "argo", "other-crds")
	_, othersErr := os.Stat(others)
	chromium := findChromium()
	var stopBrowser func()
	switch _, statErr := os.Stat(crd); {
	case testing.Short():
		envErr = errors.New("-short: the UI tests start MariaDB, etcd, kube-apiserver, the server and Chromium")
	case chromium == "":
		envErr = &framework.MissingDependencyError{Msg: "no chromium binary on PATH",
			Fix: "run hack/ensure-chromium.sh as root (apt-get install chromium)"}
	case statErr != nil || othersErr != nil:
		envErr = &framework.MissingDependencyError{Msg: fmt.Sprintf("Argo's CRDs: %v", errors.Join(statErr, othersErr)),
			Fix: "the shared test data must sit beside the repository, as in CI"}
	default:
		stopBrowser, envErr = start(chromium, crd, others)
	}
	code := m.Run()
	if stopBrowser != nil {
		stopBrowser()
	}
	if processes != nil {
		processes.Stop()
	}
	if node != nil {
		node.Close()
	}
	if env != nil {
		if err := env.Stop(); err != nil {
			fmt.Fprintf(os.Stderr, "stopping the environment: %v\n", err)
			code = 1
		}
	}
	os.Exit(code)
}

// findChromium returns the browser binary hack/ensure-chromium.sh installs, or "".
func findChromium() string {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome-stable", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

func start(chromium string, crds ...string) (func(), error) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	var err error
	env, err = framework.Start(ctx, framework.Config{CRDs: crds, Execution: true})
	if err != nil {
		return nil, err
	}
	if node, err = kubelet.Start(ctx, env.ControlPlane().Client(), framework.SimulatedNode); err != nil {
		return nil, err
	}
	if launcherPath, err = processkubelet.BuildLauncher(ctx, filepath.Join("..", ".."), filepath.Join(env.Dir(), "pipelines-launcher")); err != nil {
		return nil, err
	}
	if processes, err = processkubelet.Start(ctx, processkubelet.Config{
		Client:   env.ControlPlane().Client(),
		Dynamic:  dynamic.NewForConfigOrDie(env.ControlPlane().AdminRESTConfig()),
		Node:     framework.SimulatedNode,
		Dir:      filepath.Join(env.Dir(), "pods"),
		Launcher: launcherPath,
		Path:     kfpsdk.VenvPath(),
		ReadOnly: kfpsdk.Venv(),
		Env:      []string{"PIP_NO_INDEX=1"},
		Logs:     node,
	}); err != nil {
		return nil, err
	}
	if err := addViewer(ctx); err != nil {
		return nil, err
	}
	profile, err := os.MkdirTemp("", "pipelines-ui-chromium-")
	if err != nil {
		return nil, err
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true),
		chromedp.UserDataDir(profile),
		chromedp.WindowSize(1400, 1000),
	)
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	b, cancelBrowser := chromedp.NewContext(alloc)
	stop := func() {
		cancelBrowser()
		cancelAlloc()
		_ = os.RemoveAll(profile)
	}
	// The first Run starts the browser, for the life of b.
	if err := chromedp.Do(b); err != nil {
		stop()
		return nil, fmt.Errorf("starting %s: %w", chromium, err)
	}
	browser = b
	klog.InfoS("UI tests ready", "chromium", chromium)
	return stop, nil
}

// addViewer creates the user viewer, bound to the ClusterRole view in team-a.
func addViewer(ctx context.Context) error {
	cp := env.ControlPlane()
	if _, err := cp.NewUser(ctx, viewer); err != nil {
		return err
	}
	_, _, err := env.Kubectl(ctx, framework.AdminUser, "create", "rolebinding", viewer+"-view", "-n", "team-a",
		"--clusterrole=view", "--user="+viewer)
	if err != nil && !strings.Contains(err.Error(), "AlreadyExists") {
		return err
	}
	return nil
}

// setup returns the environment, or skips or fails the test when it did not start.
func setup(t *testing.T) *framework.Environment {
	t.Helper()
	return framework.Use(t, env, envErr)
}

func clientFor(t *testing.T, user string) versioned.Interface {
	t.Helper()
	return env.Client(t, user)
}

// kubeconfig returns a kubeconfig file for user: the environment's (contexts admin,
// alice, bob), or the one the control plane wrote for another user.
func kubeconfigArgs(user string) []string {
	for _, u := range append([]string{framework.AdminUser}, teamUsers()...) {
		if u == user {
			return []string{"--kubeconfig", env.Kubeconfig(), "--context", user}
		}
	}
	return []string{"--kubeconfig", env.UserKubeconfig(user)}
}

func teamUsers() []string {
	var users []string
	for _, team := range framework.Teams {
		users = append(users, team.User)
	}
	return users
}

var urlLine = regexp.MustCompile(`http://127\.0\.0\.1:[0-9]+/(\?token=[A-Za-z0-9_-]+)?`)

// serveUI runs `kubectl pipelines ui` as user until the test ends, and returns the URL it
// printed.
func serveUI(t *testing.T, user string, extra ...string) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	r, w := io.Pipe()
	streams := genericiooptions.IOStreams{In: strings.NewReader(""), Out: w, ErrOut: w}
	cmd := plugin.NewCommand(streams)
	cmd.SetArgs(append(append(kubeconfigArgs(user), "ui"), extra...))
	done := make(chan error, 1)
	go func() {
		err := cmd.ExecuteContext(ctx)
		_ = w.CloseWithError(fmt.Errorf("kubectl pipelines ui ended: %v", err))
		done <- err
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("kubectl pipelines ui: %v", err)
		}
	})
	lines := bufio.NewScanner(r)
	for lines.Scan() {
		if u := urlLine.FindString(lines.Text()); u != "" {
			go func() { _, _ = io.Copy(io.Discard, r) }()
			return u
		}
	}
	t.Fatalf("kubectl pipelines ui printed no URL: %v", lines.Err())
	return ""
}

// open serves the UI as user and opens it in a new tab of its own browser context (no
// cookies or storage shared with other tests), at the route fragment (for example
// "#/ns/team-a/runs").
func open(t *testing.T, user, fragment string) context.Context {
	t.Helper()
	url := serveUI(t, user)
	ctx, cancel := chromedp.NewContext(browser, chromedp.WithNewBrowserContext())
	t.Cleanup(cancel)
	if err := chromedp.Do(ctx, chromedp.Navigate(url)); err != nil {
		t.Fatalf("opening %s: %v", url, err)
	}
	// The token set the cookie and was redirected away; now the route.
	navigate(t, ctx, fragment)
	return ctx
}

// navigate goes to a route of the app in the same page, as a click on a link does.
func navigate(t *testing.T, ctx context.Context, fragment string) {
	t.Helper()
	waitJS(t, ctx, `document.getElementById('view') !== null && location.pathname === '/'`, "the app to load")
	if err := chromedp.Do(ctx, chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`location.hash = %q`, fragment))); err != nil {
		t.Fatal(err)
	}
}

// waitJS waits until the JavaScript expression is truthy in the page.
func waitJS(t *testing.T, ctx context.Context, expr, what string) {
	t.Helper()
	if _, err := chromedp.Run(ctx, chromedp.Poll[chromedp.Void](expr, chromedp.WithPollingTimeout(defaultWait))); err != nil {
		t.Fatalf("waiting for %s (%s): %v\nerror banner: %q\npage: %s", what, expr, err,
			evalString(ctx, `document.getElementById('error').innerText`), evalString(ctx, `document.getElementById('view').innerText`))
	}
}

// evalString returns the expression's value as a string, or the error.
func evalString(ctx context.Context, expr string) string {
	s, err := chromedp.Run(ctx, chromedp.Evaluate[string](`String(`+expr+`)`))
	if err != nil {
		return err.Error()
	}
	return s
}

// screenshot writes the page to docs/img/ui-name.png.
func screenshot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	if err := os.WriteFile(filepath.Join("..", "..", "docs", "img", "ui-"+name+".png"), png, 0o644); err != nil {
		t.Fatal(err)
	}
}

// fixture creates an experiment and a pipeline with one version, all named name: a v1
// workflow, or a v2 pipeline IR with an optional platform spec.
func fixture(t *testing.T, c versioned.Interface, ns, name string, workflow, ir string, platform ...string) {
	t.Helper()
	ctx := t.Context()
	p := c.PipelinesV1beta1()
	if _, err := p.Experiments(ns).Create(ctx, &v1beta1.Experiment{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{}); err != nil {
		t.Fatalf("creating experiment: %v", err)
	}
	if _, err := p.Pipelines(ns).Create(ctx, &v1beta1.Pipeline{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{}); err != nil {
		t.Fatalf("creating pipeline: %v", err)
	}
	version := &v1beta1.PipelineVersion{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: v1beta1.PipelineVersionSpec{PipelineName: name}}
	if workflow != "" {
		version.Spec.Workflow = runtime.RawExtension{Raw: []byte(workflow)}
	} else {
		version.Spec.PipelineSpec = runtime.RawExtension{Raw: []byte(ir)}
		if len(platform) > 0 {
			version.Spec.PlatformSpec = runtime.RawExtension{Raw: []byte(platform[0])}
		}
	}
	if _, err := p.PipelineVersions(ns).Create(ctx, version, metav1.CreateOptions{}); err != nil {
		t.Fatalf("creating pipeline version: %v", err)
	}
}

// newRun creates a run of the fixture name.
func newRun(t *testing.T, c versioned.Interface, ns, runName, fixture string, params ...v1beta1.RunParameter) *v1beta1.Run {
	t.Helper()
	r := &v1beta1.Run{
		ObjectMeta: metav1.ObjectMeta{Name: runName},
		Spec:       v1beta1.RunSpec{ExperimentName: fixture, PipelineRef: v1beta1.PipelineRef{PipelineName: fixture}, Parameters: params},
	}
	r, err := c.PipelinesV1beta1().Runs(ns).Create(t.Context(), r, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("creating run %s: %v", runName, err)
	}
	return r
}

// eventually polls f until it returns nil, and fails the test with its last error.
func eventually(t *testing.T, f func() error) {
	t.Helper()
	var last error
	err := wait.PollUntilContextTimeout(t.Context(), 100*time.Millisecond, defaultWait, true, func(context.Context) (bool, error) {
		last = f()
		return last == nil, nil
	})
	if err != nil {
		t.Fatalf("%v: %v", err, last)
	}
}

// stepPod waits until the step of the workflow has a pod in phase, and returns it.
func stepPod(t *testing.T, ns, wf, step string, phase corev1.PodPhase) corev1.Pod {
	t.Helper()
	var found corev1.Pod
	eventually(t, func() error {
		list, err := env.ControlPlane().Client().CoreV1().Pods(ns).List(t.Context(), metav1.ListOptions{LabelSelector: workflowLabel + "=" + wf})
		if err != nil {
			return err
		}
		for _, p := range list.Items {
			if p.Annotations[nodeNameAnnotation] == wf+"."+step && p.Status.Phase == phase && p.DeletionTimestamp == nil {
				found = p
				return nil
			}
		}
		return fmt.Errorf("no %s pod for step %s of workflow %s/%s", phase, step, ns, wf)
	})
	return found
}

// endPod tells kwok how a pod held Running ends (controlplane.PodOutcomeAnnotation).
func endPod(t *testing.T, pod corev1.Pod, outcome string) {
	t.Helper()
	patch := fmt.Sprintf(`{"metadata":{"annotations":{%q:%q}}}`, controlplane.PodOutcomeAnnotation, outcome)
	_, err := env.ControlPlane().Client().CoreV1().Pods(pod.Namespace).Patch(t.Context(), pod.Name, types.MergePatchType, []byte(patch), metav1.PatchOptions{})
	if err != nil {
		t.Fatalf("ending pod %s: %v", pod.Name, err)
	}
}

// uniqueName is a name for one run of a test.
func uniqueName(prefix string) string {
	return fmt.Sprintf("%s-%x", prefix, time.Now().UnixNano()&0xffffff)
}
