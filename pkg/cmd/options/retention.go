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
	"time"

	"github.com/spf13/pflag"

	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/controller"
	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/registry/retention"
)

// RetentionOptions are the cluster-wide retention policy of runs, which the controllers'
// leader applies. Off by default: an upgrade must not start deleting what users kept,
// and how long runs are kept is a decision about data, not a default of software.
type RetentionOptions struct {
	// Default is the cluster's policy; namespaces' annotations override it.
	Default retention.Policy
	// BatchSize bounds the runs one batch archives or deletes.
	BatchSize int
	// Interval is the time between batches.
	Interval time.Duration
}

// NewRetentionOptions returns the defaults: nothing archived or deleted unless a
// namespace asks; batches of 500 runs a minute apart.
func NewRetentionOptions() *RetentionOptions {
	return &RetentionOptions{BatchSize: 500, Interval: time.Minute}
}

// AddFlags adds the retention flags to fs.
func (o *RetentionOptions) AddFlags(fs *pflag.FlagSet) {
	fs.DurationVar(&o.Default.ArchiveAfter, "archive-finished-runs-after", o.Default.ArchiveAfter,
		"Archive each finished run this long after it finished (or was last unarchived), as runs/archive does. "+
			"0 never archives. A namespace's annotation "+retention.ArchiveAfterAnnotation+" overrides it there.")
	fs.DurationVar(&o.Default.DeleteAfter, "delete-archived-runs-after", o.Default.DeleteAfter,
		"Delete each archived finished run, with its Argo Workflow, this long after it was archived. "+
			"0 never deletes. A namespace's annotation "+retention.DeleteAfterAnnotation+" overrides it there.")
	fs.IntVar(&o.BatchSize, "retention-batch-size", o.BatchSize,
		"At most how many runs one batch of retention archives or deletes.")
	fs.DurationVar(&o.Interval, "retention-interval", o.Interval, "Time between batches of retention.")
}

// Validate reports every problem.
func (o *RetentionOptions) Validate() []error {
	var errs []error
	if err := o.Default.Validate(); err != nil {
		errs = append(errs, err)
	}
	if o.BatchSize < 1 {
		errs = append(errs, fmt.Errorf("--retention-batch-size must be at least 1"))
	}
	if o.Interval <= 0 {
		errs = append(errs, fmt.Errorf("--retention-interval must be positive"))
	}
	return errs
}

// ApplyTo sets the controllers' retention interval and returns retention's
// configuration, which the server completes with its storage and clients. Nil when
// the controllers do not run here.
func (o *RetentionOptions) ApplyTo(c *controller.Config) *retention.Config {
	if c == nil {
		return nil
	}
	c.RetentionInterval = o.Interval
	return &retention.Config{Default: o.Default, BatchSize: o.BatchSize}
}
