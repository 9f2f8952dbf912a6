package e2e

import (
	"errors"
	"strings"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/apis/pipelines/v1beta1"
	"github.com/pipelines-apiserver/pipelines-apiserver/test/framework"
)

// expectInvalid checks that err is a 422 Invalid whose causes name field, or a field
// under it.
func expectInvalid(t *testing.T, err error, field string) {
	t.Helper()
	var status apierrors.APIStatus
	if !errors.As(err, &status) || status.Status().Code != 422 || status.Status().Reason != metav1.StatusReasonInvalid {
		t.Errorf("got %v, want 422 Invalid naming %s", err, field)
		return
	}
	var fields []string
	if d := status.Status().Details; d != nil {
		for _, c := range d.Causes {
			if c.Field == field || strings.HasPrefix(c.Field, field+".") || strings.HasPrefix(c.Field, field+"[") {
				return
			}
			fields = append(fields, c.Field)
		}
	}
	t.Errorf("422 names %v, want %s: %v", fields, field, err)
}

// TestInvalidObjects: invalid creates and updates fail with 422 naming the field, and
// nothing is stored.
func TestInvalidObjects(t *testing.T) {
	setup(t)
	ns := newNamespace(t)
	c := clientFor(t, framework.AdminUser)
	fixture(t, c, ns, "fx")
	p := c.PipelinesV1beta1()
	ctx := t.Context()

	withVersion := newRun("no-version", "fx", "fx")
	withVersion.Spec.PipelineRef.VersionName = "fx-v9"
	badRef := newRun("bad-ref", "fx", "fx")
	badRef.Spec.PipelineRef.Namespace = "Not_A_Namespace"
	badRoot := newRun("bad-root", "fx", "fx")
	badRoot.Spec.PipelineRoot = "gs://bucket/root"
	noSchedule := newJob("no-schedule", "fx", "fx")
	noSchedule.Spec.Schedule = v1beta1.Schedule{}
	creates := []struct {
		name, field string
		create      func() error
		get         func() error
	}{
		{"run-without-experiment", "spec.experimentName",
			func() error {
				_, err := p.Runs(ns).Create(ctx, newRun("orphan", "missing", "fx"), metav1.CreateOptions{})
				return err
			},
			func() error { _, err := p.Runs(ns).Get(ctx, "orphan", metav1.GetOptions{}); return err }},
		{"job-without-experiment", "spec.experimentName",
			func() error {
				_, err := p.Jobs(ns).Create(ctx, newJob("orphan", "missing", "fx"), metav1.CreateOptions{})
				return err
			},
			func() error { _, err := p.Jobs(ns).Get(ctx, "orphan", metav1.GetOptions{}); return err }},
		{"run-of-missing-pipeline", "spec.pipelineRef.pipelineName",
			func() error {
				_, err := p.Runs(ns).Create(ctx, newRun("nopipe", "fx", "missing"), metav1.CreateOptions{})
				return err
			},
			func() error { _, err := p.Runs(ns).Get(ctx, "nopipe", metav1.GetOptions{}); return err }},
		{"run-of-missing-version", "spec.pipelineRef.versionName",
			func() error { _, err := p.Runs(ns).Create(ctx, withVersion, metav1.CreateOptions{}); return err },
			func() error { _, err := p.Runs(ns).Get(ctx, "no-version", metav1.GetOptions{}); return err }},
		{"run-bad-pipeline-namespace", "spec.pipelineRef.namespace",
			func() error { _, err := p.Runs(ns).Create(ctx, badRef, metav1.CreateOptions{}); return err },
			func() error { _, err := p.Runs(ns).Get(ctx, "bad-ref", metav1.GetOptions{}); return err }},
		{"run-bad-pipeline-root", "spec.pipelineRoot",
			func() error { _, err := p.Runs(ns).Create(ctx, badRoot, metav1.CreateOptions{}); return err },
			func() error { _, err := p.Runs(ns).Get(ctx, "bad-root", metav1.GetOptions{}); return err }},
		{"version-without-pipeline", "spec.pipelineName",
			func() error {
				_, err := p.PipelineVersions(ns).Create(ctx, newPipelineVersion("orphan", "missing"), metav1.CreateOptions{})
				return err
			},
			func() error { _, err := p.PipelineVersions(ns).Get(ctx, "orphan", metav1.GetOptions{}); return err }},
		{"experiment-bad-name", "metadata.name",
			func() error {
				_, err := p.Experiments(ns).Create(ctx, newExperiment("Bad_Name"), metav1.CreateOptions{})
				return err
			},
			func() error { _, err := p.Experiments(ns).Get(ctx, "Bad_Name", metav1.GetOptions{}); return err }},
		{"run-bad-experiment-name", "spec.experimentName",
			func() error {
				_, err := p.Runs(ns).Create(ctx, newRun("badexp", "Not Valid!", "fx"), metav1.CreateOptions{})
				return err
			},
			func() error { _, err := p.Runs(ns).Get(ctx, "badexp", metav1.GetOptions{}); return err }},
		{"job-without-schedule", "spec.schedule",
			func() error { _, err := p.Jobs(ns).Create(ctx, noSchedule, metav1.CreateOptions{}); return err },
			func() error { _, err := p.Jobs(ns).Get(ctx, "no-schedule", metav1.GetOptions{}); return err }},
	}
	for _, tc := range creates {
		t.Run(tc.name, func(t *testing.T) {
			expectInvalid(t, tc.create(), tc.field)
			if err := tc.get(); !apierrors.IsNotFound(err) {
				t.Errorf("after a rejected create: %v, want NotFound", err)
			}
		})
	}

	t.Run("immutable-run-spec", func(t *testing.T) {
		run, err := p.Runs(ns).Create(ctx, newRun("fixed", "fx", "fx"), metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		changed := run.DeepCopy()
		changed.Spec.Parameters[0].Value = "changed"
		_, err = p.Runs(ns).Update(ctx, changed, metav1.UpdateOptions{})
		expectInvalid(t, err, "spec")
		if _, err := p.Experiments(ns).Create(ctx, newExperiment("other"), metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		_, err = p.Runs(ns).Patch(ctx, "fixed", "application/merge-patch+json", []byte(`{"spec":{"experimentName":"other"}}`), metav1.PatchOptions{})
		expectInvalid(t, err, "spec")
		_, err = p.Runs(ns).Patch(ctx, "fixed", "application/merge-patch+json", []byte(`{"spec":{"pipelineRoot":"s3://elsewhere/root"}}`), metav1.PatchOptions{})
		expectInvalid(t, err, "spec.pipelineRoot")
		unchanged(t, run.ResourceVersion, func() (metav1.Object, error) { return p.Runs(ns).Get(ctx, "fixed", metav1.GetOptions{}) })
	})

	t.Run("immutable-version-spec", func(t *testing.T) {
		v, err := p.PipelineVersions(ns).Get(ctx, "fx-v1", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		changed := v.DeepCopy()
		changed.Spec.Description = "changed"
		_, err = p.PipelineVersions(ns).Update(ctx, changed, metav1.UpdateOptions{})
		expectInvalid(t, err, "spec")
		changed = v.DeepCopy()
		changed.Spec.Workflow = runtime.RawExtension{Raw: []byte(strings.Replace(workflow, "busybox", "alpine", 1))}
		_, err = p.PipelineVersions(ns).Update(ctx, changed, metav1.UpdateOptions{})
		expectInvalid(t, err, "spec")
		unchanged(t, v.ResourceVersion, func() (metav1.Object, error) { return p.PipelineVersions(ns).Get(ctx, "fx-v1", metav1.GetOptions{}) })
	})

	// kubectl reports the same, whichever way the object is sent.
	const orphanRun = `apiVersion: pipelines.kubeflow.org/v1beta1
kind: Run
metadata:
  name: kubectl-orphan
spec:
  experimentName: missing
  pipelineRef:
    pipelineName: fx
`
	for name, args := range map[string][]string{
		"kubectl-create":            {"create", "-f", "-"},
		"kubectl-apply":             {"apply", "-f", "-"},
		"kubectl-apply-server-side": {"apply", "--server-side", "-f", "-"},
	} {
		t.Run(name, func(t *testing.T) {
			_, stderr, err := kubectlResult(t, "", orphanRun, append(args, "-n", ns)...)
			if err == nil || !strings.Contains(stderr, "is invalid: spec.experimentName") {
				t.Errorf("kubectl %v of a run without experiment: %v\n%s", args, err, stderr)
			}
			if _, err := p.Runs(ns).Get(ctx, "kubectl-orphan", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
				t.Errorf("after a rejected create: %v, want NotFound", err)
				_ = p.Runs(ns).Delete(ctx, "kubectl-orphan", metav1.DeleteOptions{})
			}
		})
	}

	t.Run("kubectl-patch-immutable", func(t *testing.T) {
		if _, err := p.Runs(ns).Create(ctx, newRun("patched", "fx", "fx"), metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		_, stderr, err := kubectlResult(t, "", "", "patch", "run", "patched", "-n", ns, "--type=json",
			"-p", `[{"op":"replace","path":"/spec/pipelineRef/versionName","value":"fx-v2"}]`)
		if err == nil || !strings.Contains(stderr, "is invalid: spec.pipelineRef") {
			t.Errorf("kubectl patch of a run's spec: %v\n%s", err, stderr)
		}
	})

	t.Run("unknown-fields", func(t *testing.T) {
		for name, manifest := range map[string]string{
			"spec.bogus": `apiVersion: pipelines.kubeflow.org/v1beta1
kind: Experiment
metadata:
  name: unknown-field
spec:
  description: x
  bogus: 1
`,
			"spec.pipelineRef.versoinName": `apiVersion: pipelines.kubeflow.org/v1beta1
kind: Run
metadata:
  name: unknown-field
spec:
  experimentName: fx
  pipelineRef:
    pipelineName: fx
    versoinName: fx-v1
`,
		} {
			for _, verb := range []string{"create", "apply"} {
				_, stderr, err := kubectlResult(t, "", manifest, verb, "--validate=strict", "-n", ns, "-f", "-")
				if err == nil || !strings.Contains(stderr, "BadRequest") || !strings.Contains(stderr, `unknown field "`+name+`"`) {
					t.Errorf("kubectl %s --validate=strict with %s: %v\n%s", verb, name, err, stderr)
				}
			}
		}
		if _, err := p.Experiments(ns).Get(ctx, "unknown-field", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
			t.Errorf("experiment with an unknown field: %v, want NotFound", err)
		}
		if _, err := p.Runs(ns).Get(ctx, "unknown-field", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
			t.Errorf("run with an unknown field: %v, want NotFound", err)
		}
	})
}

// unchanged checks that an object still has the resourceVersion it had before rejected
// writes.
func unchanged(t *testing.T, rv string, get func() (metav1.Object, error)) {
	t.Helper()
	o, err := get()
	if err != nil {
		t.Fatal(err)
	}
	if o.GetResourceVersion() != rv {
		t.Errorf("%s changed (resourceVersion %s, was %s)", o.GetName(), o.GetResourceVersion(), rv)
	}
}
