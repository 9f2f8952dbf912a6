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
	"fmt"
	"strings"
	"testing"
	"time"

	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/apis/pipelines"
	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/apis/pipelines/v1beta1"
	"github.com/pipelines-apiserver/pipelines-apiserver/test/framework"
)

// TestJobRunsAsItsAuthor: bob's job runs a pipeline of another namespace that he was
// allowed to read. Once that grant is deleted, the scheduler's next create (as bob) is
// forbidden: the job stops with Authorized=False and creates nothing more, until
// someone allowed updates its spec and becomes its author.
func TestJobRunsAsItsAuthor(t *testing.T) {
	setup(t)
	ctx := t.Context()
	admin, bob := clientFor(t, framework.AdminUser), clientFor(t, "bob")
	shared, mine := newNamespace(t), newNamespace(t)
	fixture(t, admin, shared, "p", twoSteps)
	if _, err := admin.PipelinesV1beta1().Experiments(mine).Create(ctx, &v1beta1.Experiment{ObjectMeta: metav1.ObjectMeta{Name: "p"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	kube := env.ControlPlane().Client().RbacV1()
	bind := func(ns, name, kind, role string) {
		t.Helper()
		if _, err := kube.RoleBindings(ns).Create(ctx, &rbacv1.RoleBinding{
			ObjectMeta: metav1.ObjectMeta{Name: name},
			RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: kind, Name: role},
			Subjects:   []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: rbacv1.UserKind, Name: "bob"}},
		}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	bind(mine, "bob-edit", "ClusterRole", "edit")
	if _, err := kube.Roles(shared).Create(ctx, &rbacv1.Role{
		ObjectMeta: metav1.ObjectMeta{Name: "read-pipelines"},
		Rules: []rbacv1.PolicyRule{{APIGroups: []string{pipelines.GroupName},
			Resources: []string{"pipelines", "pipelineversions"}, Verbs: []string{"get"}}},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	bind(shared, "bob-reads-pipelines", "Role", "read-pipelines")

	j := newJob("j", "p", 1, 10, true)
	j.Spec.PipelineRef.Namespace = shared
	eventually(t, func() error { // RBAC caches settle
		_, err := bob.PipelinesV1beta1().Jobs(mine).Create(ctx, j, metav1.CreateOptions{})
		return err
	})
	waitForRuns(t, admin, mine, "j", 1)

	if err := kube.RoleBindings(shared).Delete(ctx, "bob-reads-pipelines", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	var stopped *v1beta1.Job
	eventually(t, func() error {
		got, err := admin.PipelinesV1beta1().Jobs(mine).Get(ctx, "j", metav1.GetOptions{})
		if err != nil {
			return err
		}
		c := meta.FindStatusCondition(got.Status.Conditions, pipelines.JobConditionAuthorized)
		if c == nil || c.Status != metav1.ConditionFalse || c.Reason != pipelines.JobReasonAuthorForbidden {
			return fmt.Errorf("condition Authorized %+v", c)
		}
		stopped = got
		return nil
	})
	c := meta.FindStatusCondition(stopped.Status.Conditions, pipelines.JobConditionAuthorized)
	if !strings.Contains(c.Message, `"bob"`) || stopped.Status.NextScheduleTime != nil {
		t.Errorf("stopped job: condition %q, nextScheduleTime %v", c.Message, stopped.Status.NextScheduleTime)
	}
	before := len(scheduledTimes(t, admin, mine, "j"))
	time.Sleep(3 * time.Second)
	if after := len(scheduledTimes(t, admin, mine, "j")); after != before {
		t.Errorf("the stopped job created %d more runs", after-before)
	}

	// The admin, who may read the pipeline, takes the job over by changing its spec.
	if _, err := admin.PipelinesV1beta1().Jobs(mine).Patch(ctx, "j", types.MergePatchType,
		[]byte(`{"spec":{"maxConcurrency":9}}`), metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	waitForRuns(t, admin, mine, "j", before+1)
	got, err := admin.PipelinesV1beta1().Jobs(mine).Get(ctx, "j", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got.Status.Author == nil || got.Status.Author.Username != framework.AdminUser {
		t.Errorf("author after the admin's update: %+v", got.Status.Author)
	}
}
