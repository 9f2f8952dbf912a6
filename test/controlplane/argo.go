package controlplane

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/tools/cache"
	"k8s.io/klog/v2"

	"github.com/pipelines-apiserver/pipelines-apiserver/test/processkubelet"
)

const (
	// ArgoNamespace holds Argo's workflow controller's ConfigMap and its leader-election Lease.
	ArgoNamespace = "argo"
	// workflowControllerName is the binary hack/build-controlplane.sh builds from Argo Workflows.
	workflowControllerName = "workflow-controller"
	argoConfigMap          = "workflow-controller-configmap"
	// argoIdentity is the controller's leader-election identity. It is the same on every
	// start, so that a controller started again on the same Dir takes its Lease over at once.
	argoIdentity = "pipelines-local"

	// Argo's labels and annotations on step pods and task results.
	argoWorkflowLabel        = "workflows.argoproj.io/workflow"
	argoNodeIDAnnotation     = "workflows.argoproj.io/node-id"
	argoOutputsCompleteLabel = "workflows.argoproj.io/report-outputs-completed"
)

var taskResults = schema.GroupVersionResource{Group: "argoproj.io", Version: "v1alpha1", Resource: "workflowtaskresults"}

// argoConfig is the workflow controller's configuration: no metrics server (it would listen on
// a fixed port of all interfaces, and two environments on one machine would compete for it).
const argoConfig = `
metricsConfig: {enabled: false}
telemetryConfig: {enabled: false}
`

// StartWorkflowController starts Argo Workflows' workflow-controller, built by
// hack/build-controlplane.sh, for workflows of every namespace, and waits until it leads. Argo's
// CRDs (Workflow and the others its controller watches) must be installed. It runs until Stop.
//
// With kwok in place of kubelets no container runs, so no executor (argoexec's wait container)
// reports a step's outputs in a WorkflowTaskResult, and Argo's controller would wait for that
// report forever before it counts a finished step as done. A stand-in for the wait container runs
// with the controller: it reports, for every step pod that has started, that the step has no
// outputs. Steps that declare outputs (parameters, artifacts, a result) therefore cannot feed
// later steps, unless their pods run as processes (test/processkubelet, which reports their
// outputs itself and which this stand-in leaves alone).
func (c *ControlPlane) StartWorkflowController(ctx context.Context) error {
	binary := filepath.Join(c.binDir, workflowControllerName)
	if _, err := os.Stat(binary); err != nil {
		return fmt.Errorf("%s missing in %s (run %s): %w", workflowControllerName, c.binDir, buildScript, err)
	}
	if err := c.EnsureNamespace(ctx, ArgoNamespace); err != nil {
		return err
	}
	cm := &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: argoConfigMap, Namespace: ArgoNamespace},
		Data:       map[string]string{"config": argoConfig},
	}
	if _, err := c.client.CoreV1().ConfigMaps(ArgoNamespace).Create(ctx, cm, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("creating Argo's ConfigMap: %w", err)
	}

	if err := c.startTaskResultReporter(ctx); err != nil {
		return err
	}

	p, err := startProcessEnv(c.logger, workflowControllerName, binary, logPath(c.dir, workflowControllerName), []string{
		"--kubeconfig=" + c.adminKubeconfig,
		"--namespace=" + ArgoNamespace,
		"--configmap=" + argoConfigMap,
		"--workflow-workers=4",
		"--pod-cleanup-workers=2",
		"--qps=50",
		"--burst=100",
	}, []string{
		"LEADER_ELECTION_IDENTITY=" + argoIdentity,
		// How soon Argo looks at a running workflow again: 10s by default, which makes steps
		// of a second take ten; Argo's documentation suggests lowering it for short steps.
		"DEFAULT_REQUEUE_TIME=1s",
	})
	if err != nil {
		return err
	}
	c.components = append(c.components, p)
	err = waitReady(ctx, p, defaultStartTimeout, func(ctx context.Context) (bool, string) {
		lease, err := c.client.CoordinationV1().Leases(ArgoNamespace).Get(ctx, workflowControllerName, metav1.GetOptions{})
		if err != nil {
			return false, err.Error()
		}
		if h := lease.Spec.HolderIdentity; h == nil || *h != argoIdentity {
			return false, fmt.Sprintf("lease held by %v", h)
		}
		return true, ""
	})
	if err != nil {
		return err
	}
	c.logger.V(1).Info("Argo's workflow controller leads", "log", p.logFile)
	return nil
}

// startTaskResultReporter runs the stand-in for Argo's wait container (see
// StartWorkflowController) until Stop.
func (c *ControlPlane) startTaskResultReporter(ctx context.Context) error {
	factory := informers.NewSharedInformerFactoryWithOptions(c.client, 10*time.Minute,
		informers.WithTweakListOptions(func(o *metav1.ListOptions) { o.LabelSelector = argoWorkflowLabel }))
	pods := factory.Core().V1().Pods().Informer()
	logger := klog.LoggerWithName(c.logger, "wait-container-stand-in")
	var reported sync.Map // pod UIDs
	report := func(obj any) {
		pod, ok := obj.(*corev1.Pod)
		// The process stand-in kubelet reports the outputs of the pods it runs.
		if !ok || pod.Status.Phase == corev1.PodPending || pod.Status.Phase == corev1.PodUnknown || processkubelet.Owns(pod) {
			return
		}
		if _, done := reported.Load(pod.UID); done {
			return
		}
		if err := c.reportNoOutputs(c.backgroundCtx, pod); err != nil {
			logger.Error(err, "Reporting a step's outputs", "pod", klog.KObj(pod))
			return
		}
		reported.Store(pod.UID, true)
	}
	if _, err := pods.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    report,
		UpdateFunc: func(_, obj any) { report(obj) },
		DeleteFunc: func(obj any) {
			if tomb, ok := obj.(cache.DeletedFinalStateUnknown); ok {
				obj = tomb.Obj
			}
			if pod, ok := obj.(*corev1.Pod); ok {
				reported.Delete(pod.UID)
			}
		},
	}); err != nil {
		return err
	}
	factory.Start(c.backgroundCtx.Done())
	syncCtx, cancel := context.WithTimeout(ctx, defaultStartTimeout)
	defer cancel()
	if !cache.WaitForCacheSync(syncCtx.Done(), pods.HasSynced) {
		return fmt.Errorf("the wait-container stand-in's pod informer did not sync")
	}
	c.informers = append(c.informers, factory)
	return nil
}

// reportNoOutputs writes what the wait container writes when a step ends without outputs: a
// WorkflowTaskResult named after the step's node, labelled as complete, owned by the workflow.
func (c *ControlPlane) reportNoOutputs(ctx context.Context, pod *corev1.Pod) error {
	nodeID := pod.Annotations[argoNodeIDAnnotation]
	owner := metav1.GetControllerOf(pod)
	if nodeID == "" || owner == nil || owner.Kind != "Workflow" {
		return nil
	}
	result := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "argoproj.io/v1alpha1",
		"kind":       "WorkflowTaskResult",
		"metadata": map[string]any{
			"name":      nodeID,
			"namespace": pod.Namespace,
			"labels": map[string]any{
				argoWorkflowLabel:        pod.Labels[argoWorkflowLabel],
				argoOutputsCompleteLabel: "true",
			},
			"ownerReferences": []any{map[string]any{
				"apiVersion": owner.APIVersion, "kind": owner.Kind, "name": owner.Name, "uid": string(owner.UID),
			}},
		},
	}}
	_, err := c.dynamic.Resource(taskResults).Namespace(pod.Namespace).Create(ctx, result, metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) {
		return nil
	}
	return err
}
