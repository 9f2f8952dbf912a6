package e2e

import (
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/tools/cache"

	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/apis/pipelines/v1beta1"
	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/generated/informers/externalversions"
	"github.com/pipelines-apiserver/pipelines-apiserver/test/framework"
)

// TestInformer: informers from the generated factory, for all five resources, sync, and
// the run informer's handlers and lister see later creates, updates and deletes.
func TestInformer(t *testing.T) {
	setup(t)
	ns := newNamespace(t)
	c := clientFor(t, framework.AdminUser)
	fixture(t, c, ns, "inf")
	runs := c.PipelinesV1beta1().Runs(ns)
	for i := range 3 {
		if _, err := runs.Create(t.Context(), newRun(fmt.Sprintf("early-%d", i), "inf", "inf"), metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}

	factory := externalversions.NewSharedInformerFactoryWithOptions(c, 0, externalversions.WithNamespace(ns))
	pipelines := factory.Pipelines().V1beta1()
	runInformer := pipelines.Runs()
	var mu sync.Mutex
	var seen []string
	record := func(what string, obj any) {
		if tomb, ok := obj.(cache.DeletedFinalStateUnknown); ok {
			obj = tomb.Obj
		}
		mu.Lock()
		defer mu.Unlock()
		seen = append(seen, what+" "+obj.(*v1beta1.Run).Name)
	}
	_, err := runInformer.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: func(obj any) { record("add", obj) },
		UpdateFunc: func(old, obj any) {
			if old.(*v1beta1.Run).ResourceVersion != obj.(*v1beta1.Run).ResourceVersion {
				record("update", obj)
			}
		},
		DeleteFunc: func(obj any) { record("delete", obj) },
	})
	if err != nil {
		t.Fatal(err)
	}
	// Every informer of the group, so that each resource's list and watch are exercised.
	informers := []cache.SharedIndexInformer{
		pipelines.Experiments().Informer(), pipelines.Pipelines().Informer(),
		pipelines.PipelineVersions().Informer(), runInformer.Informer(), pipelines.Jobs().Informer(),
	}
	stop := make(chan struct{})
	defer func() {
		close(stop)
		factory.Shutdown()
	}()
	factory.Start(stop)
	for typ, ok := range factory.WaitForCacheSync(stop) {
		if !ok {
			t.Fatalf("informer for %v did not sync", typ)
		}
	}
	for _, inf := range informers {
		if !inf.HasSynced() {
			t.Errorf("an informer has not synced")
		}
	}
	lister := runInformer.Lister().Runs(ns)
	names := func() []string {
		list, err := lister.List(labels.Everything())
		if err != nil {
			t.Fatal(err)
		}
		var n []string
		for _, r := range list {
			n = append(n, r.Name)
		}
		slices.Sort(n)
		return n
	}
	if got := names(); !slices.Equal(got, []string{"early-0", "early-1", "early-2"}) {
		t.Errorf("lister after sync: %v", got)
	}
	if exps, err := pipelines.Experiments().Lister().Experiments(ns).List(labels.Everything()); err != nil || len(exps) != 1 {
		t.Errorf("experiment lister after sync: %v, %v", exps, err)
	}

	if _, err := runs.Create(t.Context(), newRun("late", "inf", "inf"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	patch := []byte(`{"metadata":{"labels":{"changed":"yes"}}}`)
	if _, err := runs.Patch(t.Context(), "early-0", "application/merge-patch+json", patch, metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := runs.Delete(t.Context(), "early-1", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	want := []string{"add early-0", "add early-1", "add early-2", "add late", "update early-0", "delete early-1"}
	eventually(t, 10*time.Second, func() error {
		mu.Lock()
		defer mu.Unlock()
		got := slices.Clone(seen)
		// The initial adds come in list order, which is not guaranteed.
		if len(got) >= 3 {
			slices.Sort(got[:3])
		}
		if !slices.Equal(got, want) {
			return fmt.Errorf("handlers saw %v, want %v", got, want)
		}
		return nil
	})
	if got := names(); !slices.Equal(got, []string{"early-0", "early-2", "late"}) {
		t.Errorf("lister after the changes: %v", got)
	}
	if r, err := lister.Get("early-0"); err != nil || r.Labels["changed"] != "yes" {
		t.Errorf("lister's early-0: %v, %v", r, err)
	}
}
