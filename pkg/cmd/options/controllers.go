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

package options

import (
	"fmt"
	"path"
	"time"

	"github.com/spf13/pflag"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/leaderelection/resourcelock"
	componentbaseconfig "k8s.io/component-base/config"
	componentbaseoptions "k8s.io/component-base/config/options"

	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/compiler"
	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/controller"
)

// ControllersOptions configure the run executor and the job scheduler, which run in
// the server process behind a leader election.
type ControllersOptions struct {
	// Enabled runs the controllers in this process.
	Enabled bool
	// LeaderElection configures the coordination.k8s.io Lease that elects the replica
	// that runs them.
	LeaderElection componentbaseconfig.LeaderElectionConfiguration
	// RunWorkers and JobWorkers are how many runs and jobs are worked on at once.
	RunWorkers, JobWorkers int
	// SweepInterval is how often the leader finishes the cascades of deletes that their
	// requests left undone, at most.
	SweepInterval time.Duration
	// LauncherImage and LauncherPath are the image holding the launcher, which an init
	// container copies into each task pod of a KFP 2.x run, and its path there.
	LauncherImage, LauncherPath string
}

// NewControllersOptions returns the defaults: enabled, elected through the Lease
// pipelines-system/pipelines-controllers with client-go's usual timings.
func NewControllersOptions() *ControllersOptions {
	return &ControllersOptions{
		Enabled: true,
		LeaderElection: componentbaseconfig.LeaderElectionConfiguration{
			LeaderElect:       true,
			LeaseDuration:     metav1.Duration{Duration: 15 * time.Second},
			RenewDeadline:     metav1.Duration{Duration: 10 * time.Second},
			RetryPeriod:       metav1.Duration{Duration: 2 * time.Second},
			ResourceLock:      resourcelock.LeasesResourceLock,
			ResourceName:      "pipelines-controllers",
			ResourceNamespace: "pipelines-system",
		},
		RunWorkers:    4,
		JobWorkers:    2,
		SweepInterval: time.Minute,
		LauncherImage: "ghcr.io/pipelines-apiserver/pipelines-apiserver:latest",
		LauncherPath:  "/usr/local/bin/pipelines-launcher",
	}
}

// AddFlags adds the controllers' flags to fs.
func (o *ControllersOptions) AddFlags(fs *pflag.FlagSet) {
	fs.BoolVar(&o.Enabled, "controllers-enabled", o.Enabled,
		"Run the run executor (runs become Argo Workflows) and the job scheduler in this process. "+
			"With several replicas, the Lease of --leader-elect-resource-namespace/--leader-elect-resource-name "+
			"elects the one that runs them.")
	componentbaseoptions.BindLeaderElectionFlags(&o.LeaderElection, fs)
	fs.IntVar(&o.RunWorkers, "run-executor-workers", o.RunWorkers, "How many runs the executor works on at once.")
	fs.IntVar(&o.JobWorkers, "job-scheduler-workers", o.JobWorkers, "How many jobs the scheduler works on at once.")
	fs.DurationVar(&o.SweepInterval, "cascade-sweep-interval", o.SweepInterval,
		"How often the leader finishes what deletes left undone: foreground and orphan deletions still pending, "+
			"and objects whose owner is gone (a background cascade cut short). A sweep that takes longer than a "+
			"hundredth of this puts the next one a hundred times as long after it, at most ten times this.")
	fs.StringVar(&o.LauncherImage, "launcher-image", o.LauncherImage,
		"Image holding pipelines-launcher (the server's own image): an init container of each task pod of a "+
			"KFP 2.x run copies it from there into the pod.")
	fs.StringVar(&o.LauncherPath, "launcher-path", o.LauncherPath, "Path of pipelines-launcher in --launcher-image.")
}

// Validate reports every problem.
func (o *ControllersOptions) Validate() []error {
	if !o.Enabled {
		return nil
	}
	var errs []error
	if o.RunWorkers < 1 {
		errs = append(errs, fmt.Errorf("--run-executor-workers must be at least 1"))
	}
	if o.JobWorkers < 1 {
		errs = append(errs, fmt.Errorf("--job-scheduler-workers must be at least 1"))
	}
	if o.SweepInterval <= 0 {
		errs = append(errs, fmt.Errorf("--cascade-sweep-interval must be positive"))
	}
	if o.LauncherImage == "" || !path.IsAbs(o.LauncherPath) {
		errs = append(errs, fmt.Errorf("--launcher-image must be set and --launcher-path an absolute path"))
	}
	le := o.LeaderElection
	if !le.LeaderElect {
		return errs
	}
	if le.ResourceLock != resourcelock.LeasesResourceLock {
		errs = append(errs, fmt.Errorf("--leader-elect-resource-lock must be %q", resourcelock.LeasesResourceLock))
	}
	if le.ResourceName == "" || le.ResourceNamespace == "" {
		errs = append(errs, fmt.Errorf("--leader-elect-resource-name and --leader-elect-resource-namespace must be set"))
	}
	if le.RetryPeriod.Duration <= 0 {
		errs = append(errs, fmt.Errorf("--leader-elect-retry-period must be positive"))
	}
	// client-go's own rules, said in flag names rather than at start-up.
	if le.RenewDeadline.Duration <= time.Duration(1.2*float64(le.RetryPeriod.Duration)) {
		errs = append(errs, fmt.Errorf("--leader-elect-renew-deadline (%s) must be more than 1.2 times --leader-elect-retry-period (%s)",
			le.RenewDeadline.Duration, le.RetryPeriod.Duration))
	}
	if le.LeaseDuration.Duration <= le.RenewDeadline.Duration {
		errs = append(errs, fmt.Errorf("--leader-elect-lease-duration (%s) must be longer than --leader-elect-renew-deadline (%s)",
			le.LeaseDuration.Duration, le.RenewDeadline.Duration))
	}
	return errs
}

// ApplyTo returns the controllers' configuration, or nil when they are disabled. The
// clients' configurations are filled in by the server once it runs.
func (o *ControllersOptions) ApplyTo() *controller.Config {
	if !o.Enabled {
		return nil
	}
	return &controller.Config{
		LeaderElection: o.LeaderElection,
		RunWorkers:     o.RunWorkers,
		JobWorkers:     o.JobWorkers,
		SweepInterval:  o.SweepInterval,
		Compiler:       compiler.Options{LauncherImage: o.LauncherImage, LauncherPath: o.LauncherPath},
	}
}
