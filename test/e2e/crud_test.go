package e2e

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"

	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/apis/pipelines/v1beta1"
	ac "github.com/pipelines-apiserver/pipelines-apiserver/pkg/generated/applyconfiguration/pipelines/v1beta1"
	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/generated/clientset/versioned"
	"github.com/pipelines-apiserver/pipelines-apiserver/test/framework"
)

// object is what every generated type's pointer is.
type object interface {
	metav1.Object
	runtime.Object
}

// typedClient is what the generated clientset offers for each resource, so that one test
// drives all five.
type typedClient[T object, L runtime.Object, A any] interface {
	Create(context.Context, T, metav1.CreateOptions) (T, error)
	Update(context.Context, T, metav1.UpdateOptions) (T, error)
	UpdateStatus(context.Context, T, metav1.UpdateOptions) (T, error)
	Delete(context.Context, string, metav1.DeleteOptions) error
	Get(context.Context, string, metav1.GetOptions) (T, error)
	List(context.Context, metav1.ListOptions) (L, error)
	Watch(context.Context, metav1.ListOptions) (watch.Interface, error)
	Patch(context.Context, string, types.PatchType, []byte, metav1.PatchOptions, ...string) (T, error)
	Apply(context.Context, A, metav1.ApplyOptions) (T, error)
}

// crudCase says how to exercise one resource. Runs, jobs and pipeline versions refer to the
// experiment, pipeline and version fixture creates, all named "fx".
type crudCase[T object, L runtime.Object, A any] struct {
	client func(c versioned.Interface, namespace string) typedClient[T, L, A]
	// create is a new object; apply the same as an apply configuration.
	create func(name string) T
	apply  func(name, namespace string) A
	// applyLabel is an apply configuration that sets one label only.
	applyLabel func(name, namespace, key, value string) A
	// created checks what the server adds on create (owner, pinned version, defaults).
	created func(t *testing.T, c versioned.Interface, namespace string, obj T)
	// update changes what a user may change: the spec where it is mutable, else a label.
	update  func(T)
	updated func(T) bool
	// conditions points at the object's status.conditions.
	conditions func(T) *[]metav1.Condition
}

var condition = metav1.Condition{
	Type: "Checked", Status: metav1.ConditionTrue, Reason: "EndToEndTest", Message: "set by the status subresource",
}

func labelled(key string) func(metav1.Object) bool {
	return func(o metav1.Object) bool { return o.GetLabels()[key] == "yes" }
}

func setLabel(o metav1.Object, key string) {
	labels := o.GetLabels()
	if labels == nil {
		labels = map[string]string{}
	}
	labels[key] = "yes"
	o.SetLabels(labels)
}

// ownedBy checks that obj has a controller reference to the named object of kind.
func ownedBy(t *testing.T, obj metav1.Object, kind, name string) {
	t.Helper()
	ref := metav1.GetControllerOf(obj)
	if ref == nil || ref.Kind != kind || ref.Name != name || ref.APIVersion != "pipelines.kubeflow.org/v1beta1" {
		t.Errorf("%s: controller reference %+v, want %s %s", obj.GetName(), ref, kind, name)
	}
}

func TestCRUD(t *testing.T) {
	setup(t)
	t.Run("experiments", func(t *testing.T) {
		testCRUD(t, crudCase[*v1beta1.Experiment, *v1beta1.ExperimentList, *ac.ExperimentApplyConfiguration]{
			client: func(c versioned.Interface, ns string) typedClient[*v1beta1.Experiment, *v1beta1.ExperimentList, *ac.ExperimentApplyConfiguration] {
				return c.PipelinesV1beta1().Experiments(ns)
			},
			create: newExperiment,
			apply: func(name, ns string) *ac.ExperimentApplyConfiguration {
				return ac.Experiment(name, ns).WithSpec(ac.ExperimentSpec().WithDescription("applied"))
			},
			applyLabel: func(name, ns, k, v string) *ac.ExperimentApplyConfiguration {
				return ac.Experiment(name, ns).WithLabels(map[string]string{k: v})
			},
			created: func(t *testing.T, _ versioned.Interface, _ string, e *v1beta1.Experiment) {
				if e.Status.StorageState != v1beta1.StorageStateAvailable {
					t.Errorf("new experiment's storageState %q, want Available", e.Status.StorageState)
				}
			},
			update:     func(e *v1beta1.Experiment) { e.Spec.Description = "updated" },
			updated:    func(e *v1beta1.Experiment) bool { return e.Spec.Description == "updated" },
			conditions: func(e *v1beta1.Experiment) *[]metav1.Condition { return &e.Status.Conditions },
		})
	})
	t.Run("pipelines", func(t *testing.T) {
		testCRUD(t, crudCase[*v1beta1.Pipeline, *v1beta1.PipelineList, *ac.PipelineApplyConfiguration]{
			client: func(c versioned.Interface, ns string) typedClient[*v1beta1.Pipeline, *v1beta1.PipelineList, *ac.PipelineApplyConfiguration] {
				return c.PipelinesV1beta1().Pipelines(ns)
			},
			create: newPipeline,
			apply: func(name, ns string) *ac.PipelineApplyConfiguration {
				return ac.Pipeline(name, ns).WithSpec(ac.PipelineSpec().WithDisplayName("applied"))
			},
			applyLabel: func(name, ns, k, v string) *ac.PipelineApplyConfiguration {
				return ac.Pipeline(name, ns).WithLabels(map[string]string{k: v})
			},
			created:    func(*testing.T, versioned.Interface, string, *v1beta1.Pipeline) {},
			update:     func(p *v1beta1.Pipeline) { p.Spec.Description = "updated" },
			updated:    func(p *v1beta1.Pipeline) bool { return p.Spec.Description == "updated" },
			conditions: func(p *v1beta1.Pipeline) *[]metav1.Condition { return &p.Status.Conditions },
		})
	})
	t.Run("pipelineversions", func(t *testing.T) {
		testCRUD(t, crudCase[*v1beta1.PipelineVersion, *v1beta1.PipelineVersionList, *ac.PipelineVersionApplyConfiguration]{
			client: func(c versioned.Interface, ns string) typedClient[*v1beta1.PipelineVersion, *v1beta1.PipelineVersionList, *ac.PipelineVersionApplyConfiguration] {
				return c.PipelinesV1beta1().PipelineVersions(ns)
			},
			create: func(name string) *v1beta1.PipelineVersion { return newPipelineVersion(name, "fx") },
			apply: func(name, ns string) *ac.PipelineVersionApplyConfiguration {
				return ac.PipelineVersion(name, ns).WithSpec(ac.PipelineVersionSpec().WithPipelineName("fx").
					WithWorkflow(runtime.RawExtension{Raw: []byte(workflow)}))
			},
			applyLabel: func(name, ns, k, v string) *ac.PipelineVersionApplyConfiguration {
				return ac.PipelineVersion(name, ns).WithLabels(map[string]string{k: v})
			},
			created: func(t *testing.T, c versioned.Interface, ns string, v *v1beta1.PipelineVersion) {
				ownedBy(t, v, "Pipeline", "fx")
				if len(v.Status.Parameters) != 1 || v.Status.Parameters[0].Name != "message" ||
					v.Status.Parameters[0].Default == nil || *v.Status.Parameters[0].Default != "hello" {
					t.Errorf("%s: status.parameters %+v, want message=hello", v.Name, v.Status.Parameters)
				}
				p, err := c.PipelinesV1beta1().Pipelines(ns).Get(t.Context(), "fx", metav1.GetOptions{})
				if err != nil {
					t.Fatal(err)
				}
				if p.Status.LatestVersion != v.Name {
					t.Errorf("pipeline's status.latestVersion %q after creating %s", p.Status.LatestVersion, v.Name)
				}
			},
			// The spec is immutable.
			update:     func(v *v1beta1.PipelineVersion) { setLabel(v, "updated") },
			updated:    func(v *v1beta1.PipelineVersion) bool { return labelled("updated")(v) },
			conditions: func(v *v1beta1.PipelineVersion) *[]metav1.Condition { return &v.Status.Conditions },
		})
	})
	t.Run("runs", func(t *testing.T) {
		testCRUD(t, crudCase[*v1beta1.Run, *v1beta1.RunList, *ac.RunApplyConfiguration]{
			client: func(c versioned.Interface, ns string) typedClient[*v1beta1.Run, *v1beta1.RunList, *ac.RunApplyConfiguration] {
				return c.PipelinesV1beta1().Runs(ns)
			},
			create: func(name string) *v1beta1.Run { return newRun(name, "fx", "fx") },
			apply: func(name, ns string) *ac.RunApplyConfiguration {
				return ac.Run(name, ns).WithSpec(ac.RunSpec().WithExperimentName("fx").
					WithPipelineRef(ac.PipelineRef().WithPipelineName("fx")))
			},
			applyLabel: func(name, ns, k, v string) *ac.RunApplyConfiguration {
				return ac.Run(name, ns).WithLabels(map[string]string{k: v})
			},
			created: func(t *testing.T, _ versioned.Interface, _ string, r *v1beta1.Run) {
				ownedBy(t, r, "Experiment", "fx")
				if r.Status.PipelineVersion != "fx-v1" {
					t.Errorf("%s: status.pipelineVersion %q, want the pipeline's latest version fx-v1", r.Name, r.Status.PipelineVersion)
				}
			},
			// The spec is immutable.
			update:     func(r *v1beta1.Run) { setLabel(r, "updated") },
			updated:    func(r *v1beta1.Run) bool { return labelled("updated")(r) },
			conditions: func(r *v1beta1.Run) *[]metav1.Condition { return &r.Status.Conditions },
		})
	})
	t.Run("jobs", func(t *testing.T) {
		testCRUD(t, crudCase[*v1beta1.Job, *v1beta1.JobList, *ac.JobApplyConfiguration]{
			client: func(c versioned.Interface, ns string) typedClient[*v1beta1.Job, *v1beta1.JobList, *ac.JobApplyConfiguration] {
				return c.PipelinesV1beta1().Jobs(ns)
			},
			create: func(name string) *v1beta1.Job { return newJob(name, "fx", "fx") },
			apply: func(name, ns string) *ac.JobApplyConfiguration {
				return ac.Job(name, ns).WithSpec(ac.JobSpec().WithExperimentName("fx").
					WithPipelineRef(ac.PipelineRef().WithPipelineName("fx")).
					WithSchedule(ac.Schedule().WithIntervalSeconds(86400)).WithEnabled(false))
			},
			applyLabel: func(name, ns, k, v string) *ac.JobApplyConfiguration {
				return ac.Job(name, ns).WithLabels(map[string]string{k: v})
			},
			created: func(t *testing.T, _ versioned.Interface, _ string, j *v1beta1.Job) {
				ownedBy(t, j, "Experiment", "fx")
				if j.Spec.MaxConcurrency != 1 {
					t.Errorf("%s: spec.maxConcurrency %d, want the default 1", j.Name, j.Spec.MaxConcurrency)
				}
			},
			update:     func(j *v1beta1.Job) { j.Spec.MaxConcurrency = 2 },
			updated:    func(j *v1beta1.Job) bool { return j.Spec.MaxConcurrency == 2 },
			conditions: func(j *v1beta1.Job) *[]metav1.Condition { return &j.Status.Conditions },
		})
	})
}

// testCRUD creates, reads, lists, watches, updates, patches (merge, JSON, apply) and deletes
// objects of one resource, and writes their status through the subresource.
func testCRUD[T object, L runtime.Object, A any](t *testing.T, tc crudCase[T, L, A]) {
	ctx := t.Context()
	ns := newNamespace(t)
	cs := clientFor(t, framework.AdminUser)
	fixture(t, cs, ns, "fx")
	c := tc.client(cs, ns)

	list, err := c.List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatalf("list: %v", err)
	}
	listMeta, err := meta.ListAccessor(list)
	if err != nil {
		t.Fatal(err)
	}
	w, err := c.Watch(ctx, metav1.ListOptions{ResourceVersion: listMeta.GetResourceVersion()})
	if err != nil {
		t.Fatalf("watch: %v", err)
	}
	defer w.Stop()

	// Create, get, list.
	obj, err := c.Create(ctx, tc.create("first"), metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	if obj.GetUID() == "" || obj.GetResourceVersion() == "" || obj.GetCreationTimestamp().Time.IsZero() {
		t.Errorf("create returned no uid, resourceVersion or creationTimestamp: %+v", obj)
	}
	tc.created(t, cs, ns, obj)
	got, err := c.Get(ctx, "first", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("get: %v", err)
	}
	if got.GetUID() != obj.GetUID() || got.GetResourceVersion() != obj.GetResourceVersion() {
		t.Errorf("get returned uid %s rv %s, create %s %s", got.GetUID(), got.GetResourceVersion(), obj.GetUID(), obj.GetResourceVersion())
	}
	if names := listNames(t, c); !slices.Equal(names, []string{"first"}) {
		t.Errorf("list: %v, want [first] besides the fixture", names)
	}

	// Update what the user may change; status is not written through the main resource.
	tc.update(got)
	*tc.conditions(got) = []metav1.Condition{withTime(condition)}
	updated, err := c.Update(ctx, got, metav1.UpdateOptions{})
	if err != nil {
		t.Fatalf("update: %v", err)
	}
	if !tc.updated(updated) || updated.GetResourceVersion() == obj.GetResourceVersion() {
		t.Errorf("update did not take: %+v", updated)
	}
	if conds := *tc.conditions(updated); len(conds) != 0 {
		t.Errorf("update of the main resource wrote status.conditions %v", conds)
	}

	// Status through the subresource: update, then a merge patch.
	*tc.conditions(updated) = []metav1.Condition{withTime(condition)}
	status, err := c.UpdateStatus(ctx, updated, metav1.UpdateOptions{})
	if err != nil {
		t.Fatalf("update status: %v", err)
	}
	if conds := *tc.conditions(status); len(conds) != 1 || conds[0].Reason != condition.Reason {
		t.Errorf("status after UpdateStatus: %v", conds)
	}
	if !tc.updated(status) {
		t.Errorf("UpdateStatus lost the update of the spec or labels")
	}
	patch := `{"status":{"conditions":[{"type":"Checked","status":"False","reason":"Patched","message":"","lastTransitionTime":"2026-01-01T00:00:00Z"}]}}`
	status, err = c.Patch(ctx, "first", types.MergePatchType, []byte(patch), metav1.PatchOptions{}, "status")
	if err != nil {
		t.Fatalf("merge patch of status: %v", err)
	}
	if conds := *tc.conditions(status); len(conds) != 1 || conds[0].Reason != "Patched" {
		t.Errorf("status after a merge patch of the subresource: %v", conds)
	}
	// A status patch through the main resource is ignored.
	patched, err := c.Patch(ctx, "first", types.MergePatchType, []byte(`{"status":{"conditions":null}}`), metav1.PatchOptions{})
	if err != nil {
		t.Fatalf("merge patch: %v", err)
	}
	if len(*tc.conditions(patched)) != 1 {
		t.Errorf("a merge patch of the main resource cleared the status")
	}

	// Merge patch and JSON patch.
	patched, err = c.Patch(ctx, "first", types.MergePatchType, []byte(`{"metadata":{"labels":{"merge":"yes"}}}`), metav1.PatchOptions{})
	if err != nil {
		t.Fatalf("merge patch: %v", err)
	}
	if !labelled("merge")(patched) || !tc.updated(patched) {
		t.Errorf("after a merge patch: labels %v", patched.GetLabels())
	}
	jsonPatch := `[{"op":"test","path":"/metadata/labels/merge","value":"yes"},
		{"op":"add","path":"/metadata/annotations","value":{"json":"yes"}}]`
	patched, err = c.Patch(ctx, "first", types.JSONPatchType, []byte(jsonPatch), metav1.PatchOptions{})
	if err != nil {
		t.Fatalf("JSON patch: %v", err)
	}
	if patched.GetAnnotations()["json"] != "yes" {
		t.Errorf("after a JSON patch: annotations %v", patched.GetAnnotations())
	}
	_, err = c.Patch(ctx, "first", types.JSONPatchType, []byte(`[{"op":"test","path":"/metadata/labels/merge","value":"no"}]`), metav1.PatchOptions{})
	if code := statusCode(err); code != 422 {
		t.Errorf("a JSON patch whose test fails: %v (code %d), want 422", err, code)
	}

	// Server-side apply, twice by one manager, then a conflict with a second.
	for _, value := range []string{"one", "two"} {
		applied, err := c.Apply(ctx, tc.applyLabel("first", ns, "owner", value), metav1.ApplyOptions{FieldManager: "e2e-first"})
		if err != nil {
			t.Fatalf("apply %s: %v", value, err)
		}
		if applied.GetLabels()["owner"] != value || !labelled("merge")(applied) {
			t.Errorf("after apply %s: labels %v", value, applied.GetLabels())
		}
	}
	_, err = c.Apply(ctx, tc.applyLabel("first", ns, "owner", "three"), metav1.ApplyOptions{FieldManager: "e2e-second"})
	if !apierrors.IsConflict(err) || !strings.Contains(err.Error(), `"e2e-first"`) || !strings.Contains(err.Error(), ".metadata.labels.owner") {
		t.Errorf("apply of a field another manager owns: %v, want a conflict naming e2e-first and .metadata.labels.owner", err)
	}
	forced, err := c.Apply(ctx, tc.applyLabel("first", ns, "owner", "three"), metav1.ApplyOptions{FieldManager: "e2e-second", Force: true})
	if err != nil {
		t.Fatalf("forced apply: %v", err)
	}
	if forced.GetLabels()["owner"] != "three" || !managedBy(forced, "e2e-second") {
		t.Errorf("after a forced apply: labels %v, managers %v", forced.GetLabels(), managers(forced))
	}

	// Server-side apply creates, with what create adds, and a second apply changes nothing.
	second, err := c.Apply(ctx, tc.apply("second", ns), metav1.ApplyOptions{FieldManager: "e2e-first"})
	if err != nil {
		t.Fatalf("apply creating an object: %v", err)
	}
	tc.created(t, cs, ns, second)
	again, err := c.Apply(ctx, tc.apply("second", ns), metav1.ApplyOptions{FieldManager: "e2e-first"})
	if err != nil {
		t.Fatalf("apply again: %v", err)
	}
	if again.GetResourceVersion() != second.GetResourceVersion() {
		t.Errorf("an unchanged apply wrote a new resourceVersion %s (was %s)", again.GetResourceVersion(), second.GetResourceVersion())
	}
	if names := listNames(t, c); !slices.Equal(names, []string{"first", "second"}) {
		t.Errorf("list: %v, want [first second] besides the fixture", names)
	}

	// Delete.
	for _, name := range []string{"first", "second"} {
		if err := c.Delete(ctx, name, metav1.DeleteOptions{}); err != nil {
			t.Fatalf("delete %s: %v", name, err)
		}
		if _, err := c.Get(ctx, name, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
			t.Errorf("get after delete: %v, want NotFound", err)
		}
	}

	// The watch saw all of it, in order.
	want := []string{"ADDED first", "MODIFIED first", "ADDED second", "DELETED first", "DELETED second"}
	var seen []string
	timeout := time.After(10 * time.Second)
	for !slices.Contains(seen, "DELETED second") {
		select {
		case ev, ok := <-w.ResultChan():
			if !ok {
				t.Fatalf("watch ended after %v", seen)
			}
			o, err := meta.Accessor(ev.Object)
			if err != nil {
				t.Fatalf("watch event %s: %v", ev.Type, ev.Object)
			}
			entry := string(ev.Type) + " " + o.GetName()
			if len(seen) == 0 || seen[len(seen)-1] != entry {
				seen = append(seen, entry) // consecutive MODIFIED events count once
			}
		case <-timeout:
			t.Fatalf("watch saw %v, want %v", seen, want)
		}
	}
	if !slices.Equal(seen, want) {
		t.Errorf("watch saw %v, want %v", seen, want)
	}
}

func withTime(c metav1.Condition) metav1.Condition {
	c.LastTransitionTime = metav1.NewTime(time.Now().Truncate(time.Second))
	return c
}

// listNames lists the names of the objects in c, leaving out those fixture created.
func listNames[T object, L runtime.Object, A any](t *testing.T, c typedClient[T, L, A]) []string {
	t.Helper()
	list, err := c.List(t.Context(), metav1.ListOptions{})
	if err != nil {
		t.Fatalf("list: %v", err)
	}
	items, err := meta.ExtractList(list)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, item := range items {
		o, err := meta.Accessor(item)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(o.GetName(), "fx") {
			names = append(names, o.GetName())
		}
	}
	slices.Sort(names)
	return names
}

func managers(o metav1.Object) []string {
	var m []string
	for _, f := range o.GetManagedFields() {
		m = append(m, fmt.Sprintf("%s/%s", f.Manager, f.Operation))
	}
	return m
}

func managedBy(o metav1.Object, manager string) bool {
	for _, f := range o.GetManagedFields() {
		if f.Manager == manager && f.Operation == metav1.ManagedFieldsOperationApply {
			return true
		}
	}
	return false
}

// statusCode is the HTTP status of an API error, 0 for nil or another error.
func statusCode(err error) int32 {
	var status apierrors.APIStatus
	if errors.As(err, &status) {
		return status.Status().Code
	}
	return 0
}
