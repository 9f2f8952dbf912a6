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

// Package controller runs the server's controllers, the run executor (package run)
// and the job scheduler (package job), in one loop that a coordination.k8s.io Lease
// elects: however many replicas of the server run, one executes runs and schedules
// jobs, and another takes over within the lease duration when it stops.
package controller

import (
	"context"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/uuid"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/leaderelection"
	"k8s.io/client-go/tools/leaderelection/resourcelock"
	"k8s.io/client-go/tools/record"
	componentbaseconfig "k8s.io/component-base/config"
	// leader_election_master_status and the workqueue_* metrics (depth, latency,
	// retries of the executor's and scheduler's queues) on /metrics.
	_ "k8s.io/component-base/metrics/prometheus/clientgo/leaderelection"
	_ "k8s.io/component-base/metrics/prometheus/workqueue"
	"k8s.io/klog/v2"
	"k8s.io/utils/clock"

	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/apis/pipelines/v1beta1"
	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/compiler"
	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/controller/job"
	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/controller/run"
	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/generated/clientset/versioned"
	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/generated/clientset/versioned/scheme"
	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/generated/informers/externalversions"
	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/workflow/policy"
)

// EventSource is the component named in the source of the Events the controllers record.
const EventSource = "pipelines-controllers"

// Config configures the controllers.
type Config struct {
	// Pipelines reaches the pipelines API (runs, jobs, pipeline versions). Inside the
	// server it is the loopback configuration.
	Pipelines *rest.Config
	// Kube reaches kube-apiserver: the lease and Argo's workflows. Inside the server it is
	// the --kubeconfig identity.
	Kube *rest.Config

	// LeaderElection configures the lease. With LeaderElect false the controllers run
	// at once, which is right for a single replica only.
	LeaderElection componentbaseconfig.LeaderElectionConfiguration
	// Identity is this replica's name in the lease. Default: host name and a UUID.
	Identity string

	// RunWorkers and JobWorkers are how many runs and jobs are worked on at once.
	RunWorkers, JobWorkers int
	// Sweep finishes the cascades of deletes that their requests left undone (see
	// package registry/cascade); the leader calls it every SweepInterval, or less often
	// (see sweepSpacing). Nil: none.
	Sweep func(ctx context.Context) error
	// SweepInterval is the least time between sweeps. Default: a minute.
	SweepInterval time.Duration
	// Retain applies the runs' retention policies, one bounded batch a call (see
	// package registry/retention); the leader calls it every RetentionInterval. Nil: none.
	Retain func(ctx context.Context) error
	// RetentionInterval is the time between batches of retention. Default: a minute.
	RetentionInterval time.Duration
	// DefaultServiceAccount is the account the pods of runs that name none run as.
	DefaultServiceAccount string
	// WorkflowPolicy is checked again on each workflow before it is created: the
	// policy may have changed since its pipeline version was accepted.
	WorkflowPolicy policy.Policy
	// Clock tells the time. Default: the real one.
	Clock clock.WithTicker
	// Compiler configures the workflows of runs of pipeline IR (KFP 2.x) versions.
	Compiler compiler.Options
}

// Controllers are the executor and the scheduler behind one leader election.
type Controllers struct {
	cfg       Config
	pipelines versioned.Interface
	// pipelinesConfig is the pipelines client's configuration, from which the scheduler
	// makes clients impersonating jobs' authors.
	pipelinesConfig *rest.Config
	workflows       dynamic.Interface
	kube            kubernetes.Interface
	// events writes Events, without the lease's short timeout.
	events  kubernetes.Interface
	leading atomic.Bool
}

// New checks cfg and makes the clients.
func New(cfg Config) (*Controllers, error) {
	if cfg.Pipelines == nil || cfg.Kube == nil {
		return nil, fmt.Errorf("controllers need a client configuration for the pipelines API and one for kube-apiserver")
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.RealClock{}
	}
	if cfg.SweepInterval <= 0 {
		cfg.SweepInterval = time.Minute
	}
	if cfg.RetentionInterval <= 0 {
		cfg.RetentionInterval = time.Minute
	}
	cfg.RunWorkers = max(cfg.RunWorkers, 1)
	cfg.JobWorkers = max(cfg.JobWorkers, 1)
	if cfg.Identity == "" {
		host, err := os.Hostname()
		if err != nil {
			return nil, fmt.Errorf("a leader-election identity: %w", err)
		}
		cfg.Identity = host + "_" + string(uuid.NewUUID())
	}
	c := &Controllers{cfg: cfg}
	var err error
	pipelinesConfig := rest.CopyConfig(cfg.Pipelines)
	rest.AddUserAgent(pipelinesConfig, "pipelines-controllers")
	if c.pipelines, err = versioned.NewForConfig(pipelinesConfig); err != nil {
		return nil, fmt.Errorf("a client for the pipelines API: %w", err)
	}
	c.pipelinesConfig = pipelinesConfig
	kubeConfig := rest.CopyConfig(cfg.Kube)
	rest.AddUserAgent(kubeConfig, "pipelines-controllers")
	if c.workflows, err = dynamic.NewForConfig(kubeConfig); err != nil {
		return nil, fmt.Errorf("a client for Argo Workflows: %w", err)
	}
	if c.events, err = kubernetes.NewForConfig(kubeConfig); err != nil {
		return nil, fmt.Errorf("a client for events: %w", err)
	}
	// A renewal that hangs must not outlive the renew deadline.
	leaseConfig := rest.CopyConfig(kubeConfig)
	leaseConfig.Timeout = cfg.LeaderElection.RenewDeadline.Duration / 2
	if c.kube, err = kubernetes.NewForConfig(leaseConfig); err != nil {
		return nil, fmt.Errorf("a client for the lease: %w", err)
	}
	return c, nil
}

// clientFor returns a pipelines client that impersonates author, so that what it does
// is authorized as if author did it. The loopback identity (system:masters) may
// impersonate; clients share the loopback transport, impersonation being a header.
func (c *Controllers) clientFor(author *v1beta1.Author) (versioned.Interface, error) {
	cfg := rest.CopyConfig(c.pipelinesConfig)
	cfg.Impersonate = rest.ImpersonationConfig{UserName: author.Username, UID: author.UID, Groups: author.Groups}
	for k, v := range author.Extra {
		if cfg.Impersonate.Extra == nil {
			cfg.Impersonate.Extra = map[string][]string{}
		}
		cfg.Impersonate.Extra[k] = v
	}
	return versioned.NewForConfig(cfg)
}

// Identity is this replica's name in the lease.
func (c *Controllers) Identity() string { return c.cfg.Identity }

// Leading says whether the controllers run in this replica now.
func (c *Controllers) Leading() bool { return c.leading.Load() }

// Run runs the controllers whenever this replica holds the lease, until ctx ends. On
// losing the lease it stops them and campaigns again; when ctx ends it stops them and
// then releases the lease, so that another replica takes over at once.
func (c *Controllers) Run(ctx context.Context) error {
	logger := klog.FromContext(ctx).WithName("controllers")
	ctx = klog.NewContext(ctx, logger)
	le := c.cfg.LeaderElection
	if !le.LeaderElect {
		logger.Info("Running controllers without leader election")
		c.lead(ctx)
		return nil
	}
	lock, err := resourcelock.New(resourcelock.LeasesResourceLock, le.ResourceNamespace, le.ResourceName,
		nil, c.kube.CoordinationV1(), resourcelock.ResourceLockConfig{Identity: c.cfg.Identity})
	if err != nil {
		return fmt.Errorf("the controllers' lease: %w", err)
	}
	logger.Info("Campaigning for the controllers' lease", "lease", klog.KRef(le.ResourceNamespace, le.ResourceName),
		"identity", c.cfg.Identity)
	for ctx.Err() == nil {
		if err := c.term(ctx, lock); err != nil {
			return err
		}
	}
	return nil
}

// term campaigns for the lease and, once it holds it, runs the controllers until it
// loses the lease or ctx ends.
func (c *Controllers) term(ctx context.Context, lock resourcelock.Interface) error {
	logger := klog.FromContext(ctx)
	le := c.cfg.LeaderElection
	leading := make(chan context.Context, 1)
	elector, err := leaderelection.NewLeaderElector(leaderelection.LeaderElectionConfig{
		Lock:          lock,
		LeaseDuration: le.LeaseDuration.Duration,
		RenewDeadline: le.RenewDeadline.Duration,
		RetryPeriod:   le.RetryPeriod.Duration,
		Callbacks: leaderelection.LeaderCallbacks{
			OnStartedLeading: func(ctx context.Context) { leading <- ctx },
			OnStoppedLeading: func() {},
		},
		// Released only after the controllers stopped: electorCtx ends after them.
		ReleaseOnCancel: true,
		Name:            le.ResourceName,
	})
	if err != nil {
		return fmt.Errorf("the controllers' leader election: %w", err)
	}
	electorCtx, stopElector := context.WithCancel(context.WithoutCancel(ctx))
	defer stopElector()
	done := make(chan struct{})
	go func() {
		defer close(done)
		elector.Run(electorCtx)
	}()
	select {
	case leaseCtx := <-leading:
		logger.Info("Leading: starting controllers", "identity", c.cfg.Identity)
		runCtx, stop := context.WithCancel(leaseCtx)
		stopOnShutdown := context.AfterFunc(ctx, stop)
		c.lead(runCtx)
		stopOnShutdown()
		stop()
		if ctx.Err() == nil {
			logger.Info("Lost the controllers' lease: stopped controllers", "identity", c.cfg.Identity)
		}
	case <-ctx.Done():
	case <-done:
	}
	stopElector()
	<-done
	return nil
}

// sweepSpacing bounds the leader's time spent sweeping: a sweep starts no sooner than
// sweepSpacing times as long as the one before took, after it. A sweep reads every owner and
// every owner UID its dependents name, so it costs in proportion to them: at 10,000
// experiments, two statements each and up to 0.8 s of the server's CPU (make bench's
// profiles), every minute. What it finds, cascades cut short by a crash, is rare, and
// waits for the next sweep anyway. The wait never exceeds maxSweepStretch intervals, so a
// slow sweep (a busy database, a small interval) does not put the next one off for long.
const (
	sweepSpacing    = 100
	maxSweepStretch = 10
)

// sweepLoop runs the sweep until ctx ends, SweepInterval apart, or further apart (up to
// maxSweepStretch intervals) if a sweep takes more than 1/sweepSpacing of that.
func (c *Controllers) sweepLoop(ctx context.Context) {
	logger := klog.FromContext(ctx)
	for ctx.Err() == nil {
		start := time.Now()
		err := c.cfg.Sweep(ctx)
		took := time.Since(start)
		next := min(max(c.cfg.SweepInterval, sweepSpacing*took), maxSweepStretch*c.cfg.SweepInterval)
		if err != nil && ctx.Err() == nil {
			logger.Error(err, "Sweeping unfinished cascades of deletes; will retry", "took", took, "next", next)
		} else {
			logger.V(2).Info("Swept unfinished cascades of deletes", "took", took, "next", next)
		}
		select {
		case <-ctx.Done():
		case <-time.After(next):
		}
	}
}

// lead runs the executor and the scheduler until ctx ends, on informers of its own: a
// new leader starts from a fresh list.
func (c *Controllers) lead(ctx context.Context) {
	c.leading.Store(true)
	defer c.leading.Store(false)
	logger := klog.FromContext(ctx)
	// Only unfinished runs: however many runs are stored, the leader holds those in flight.
	runFactory := externalversions.NewSharedInformerFactoryWithOptions(c.pipelines, 0,
		externalversions.WithTweakListOptions(func(o *metav1.ListOptions) { o.FieldSelector = run.UnfinishedSelector }))
	defer runFactory.Shutdown()
	jobFactory := externalversions.NewSharedInformerFactory(c.pipelines, 0)
	defer jobFactory.Shutdown()
	runs := runFactory.Pipelines().V1beta1().Runs()
	// Events go to kube-apiserver as the server's identity, in the object's namespace.
	// The library's correlator aggregates similar events and rate-limits each object's,
	// and drops events rather than block a controller, so no run or job can flood.
	broadcaster := record.NewBroadcaster(record.WithContext(ctx))
	defer broadcaster.Shutdown()
	broadcaster.StartRecordingToSink(&typedcorev1.EventSinkImpl{Interface: c.events.CoreV1().Events("")})
	recorder := broadcaster.NewRecorder(scheme.Scheme, corev1.EventSource{Component: EventSource})
	executor, err := run.NewExecutor(c.pipelines, c.workflows, runs,
		run.Rules{DefaultServiceAccount: c.cfg.DefaultServiceAccount, Policy: c.cfg.WorkflowPolicy, Compiler: c.cfg.Compiler},
		recorder, c.cfg.Clock)
	if err != nil {
		logger.Error(err, "Cannot start the run executor")
		return
	}
	scheduler, err := job.NewScheduler(c.pipelines, c.clientFor, jobFactory.Pipelines().V1beta1().Jobs(), runs, recorder, c.cfg.Clock)
	if err != nil {
		logger.Error(err, "Cannot start the job scheduler")
		return
	}
	runFactory.Start(ctx.Done())
	jobFactory.Start(ctx.Done())
	var wg sync.WaitGroup
	wg.Go(func() { executor.Run(ctx, c.cfg.RunWorkers) })
	wg.Go(func() { scheduler.Run(ctx, c.cfg.JobWorkers) })
	if c.cfg.Sweep != nil {
		wg.Go(func() { c.sweepLoop(ctx) })
	}
	if c.cfg.Retain != nil {
		wg.Go(func() {
			wait.UntilWithContext(ctx, func(ctx context.Context) {
				if err := c.cfg.Retain(ctx); err != nil && ctx.Err() == nil {
					logger.Error(err, "Applying the runs' retention policies; will retry", "interval", c.cfg.RetentionInterval)
				}
			}, c.cfg.RetentionInterval)
		})
	}
	wg.Wait()
}
