package controlplane

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	rbaclisters "k8s.io/client-go/listers/rbac/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/klog/v2"
)

// roleAggregator does what kube-controller-manager's clusterrole-aggregation controller does,
// since no controller-manager runs here: it fills the rules of every ClusterRole with an
// aggregationRule (the built-in admin, edit and view among them) with the rules of the
// ClusterRoles its selectors match. Without it `edit` grants nothing, and ClusterRoles
// labelled rbac.authorization.k8s.io/aggregate-to-edit never reach a RoleBinding to edit.
type roleAggregator struct {
	logger  klog.Logger
	client  kubernetes.Interface
	lister  rbaclisters.ClusterRoleLister
	changed chan struct{} // coalesces ClusterRole events into one pass over all roles
	done    chan struct{}
}

// startRoleAggregator starts watching ClusterRoles and aggregates once before it returns
// (bounded by syncCtx); it keeps aggregating until ctx ends, and closes done then.
func startRoleAggregator(syncCtx, ctx context.Context, logger klog.Logger, client kubernetes.Interface) (*roleAggregator, error) {
	factory := informers.NewSharedInformerFactory(client, 0)
	informer := factory.Rbac().V1().ClusterRoles()
	a := &roleAggregator{
		logger:  klog.LoggerWithName(logger, "clusterrole-aggregation"),
		client:  client,
		lister:  informer.Lister(),
		changed: make(chan struct{}, 1),
		done:    make(chan struct{}),
	}
	notify := func(any) {
		select {
		case a.changed <- struct{}{}:
		default:
		}
	}
	if _, err := informer.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    notify,
		UpdateFunc: func(_, obj any) { notify(obj) },
		DeleteFunc: notify,
	}); err != nil {
		return nil, fmt.Errorf("watching ClusterRoles: %w", err)
	}
	factory.Start(ctx.Done())
	for typ, ok := range factory.WaitForCacheSync(syncCtx.Done()) {
		if !ok {
			factory.Shutdown()
			return nil, fmt.Errorf("syncing %v informer: %w", typ, context.Cause(syncCtx))
		}
	}
	if err := a.converge(syncCtx); err != nil {
		factory.Shutdown()
		return nil, err
	}
	go func() {
		defer close(a.done)
		defer factory.Shutdown()
		a.run(ctx)
	}()
	return a, nil
}

func (a *roleAggregator) run(ctx context.Context) {
	retry := time.NewTimer(time.Hour)
	retry.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-a.changed:
		case <-retry.C:
		}
		if err := a.aggregateAll(ctx); err != nil && ctx.Err() == nil {
			// Typically a conflict with our own previous write; the informer catches up.
			a.logger.V(2).Info("Aggregating ClusterRoles failed, retrying", "err", err)
			retry.Reset(time.Second)
		}
	}
}

// converge aggregates from fresh lists until a pass changes nothing, so that Start returns
// with the built-in roles complete (edit feeds admin, so one pass is not enough).
func (a *roleAggregator) converge(ctx context.Context) error {
	for range 5 {
		list, err := a.client.RbacV1().ClusterRoles().List(ctx, metav1.ListOptions{})
		if err != nil {
			return fmt.Errorf("listing ClusterRoles: %w", err)
		}
		roles := make([]*rbacv1.ClusterRole, len(list.Items))
		for i := range list.Items {
			roles[i] = &list.Items[i]
		}
		changed, err := a.aggregateRoles(ctx, roles)
		if err != nil || !changed {
			return err
		}
	}
	return nil
}

func (a *roleAggregator) aggregateAll(ctx context.Context) error {
	roles, err := a.lister.List(labels.Everything())
	if err != nil {
		return fmt.Errorf("listing ClusterRoles: %w", err)
	}
	_, err = a.aggregateRoles(ctx, roles)
	return err
}

// aggregateRoles updates every aggregated role in roles; changed says whether it wrote any.
func (a *roleAggregator) aggregateRoles(ctx context.Context, roles []*rbacv1.ClusterRole) (changed bool, _ error) {
	var errs []error
	for _, role := range roles {
		if role.AggregationRule == nil {
			continue
		}
		updated, err := a.aggregate(ctx, role, roles)
		changed = changed || updated
		errs = append(errs, err)
	}
	return changed, errors.Join(errs...)
}

// aggregate sets role's rules to the union of the rules of the roles its selectors match, in
// the order the upstream controller uses (selectors in order, matching roles by name,
// duplicates dropped). It reports whether it updated the role.
func (a *roleAggregator) aggregate(ctx context.Context, role *rbacv1.ClusterRole, all []*rbacv1.ClusterRole) (bool, error) {
	byName := slices.Clone(all)
	slices.SortFunc(byName, func(x, y *rbacv1.ClusterRole) int { return strings.Compare(x.Name, y.Name) })
	rules := []rbacv1.PolicyRule{}
	for i := range role.AggregationRule.ClusterRoleSelectors {
		selector, err := metav1.LabelSelectorAsSelector(&role.AggregationRule.ClusterRoleSelectors[i])
		if err != nil {
			return false, fmt.Errorf("ClusterRole %s: %w", role.Name, err)
		}
		for _, m := range byName {
			if m.Name == role.Name || !selector.Matches(labels.Set(m.Labels)) {
				continue
			}
			for _, rule := range m.Rules {
				if !slices.ContainsFunc(rules, func(r rbacv1.PolicyRule) bool { return equality.Semantic.DeepEqual(r, rule) }) {
					rules = append(rules, rule)
				}
			}
		}
	}
	if equality.Semantic.DeepEqual(rules, role.Rules) {
		return false, nil
	}
	updated := role.DeepCopy()
	updated.Rules = rules
	if _, err := a.client.RbacV1().ClusterRoles().Update(ctx, updated, metav1.UpdateOptions{FieldManager: fieldManager}); err != nil {
		return false, fmt.Errorf("updating aggregated ClusterRole %s: %w", role.Name, err)
	}
	a.logger.V(1).Info("Aggregated ClusterRole", "clusterRole", klog.KObj(role), "rules", len(rules))
	return true, nil
}
