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

package retention

import (
	"errors"
	"fmt"
	"time"
)

// Annotations of a Namespace that override the cluster's policy there. A Namespace is
// cluster-scoped: the admin and edit roles of a namespace do not let its users change
// it, so how long a team's runs are kept is set by whoever administers the namespace
// (the cluster's administrators, or what provisions namespaces for teams), not by the
// team's users, who may still archive, unarchive and delete their own runs.
const (
	// ArchiveAfterAnnotation: finished runs are archived this long after they finished
	// (or were last unarchived). A Go duration ("720h"); "0" never archives.
	ArchiveAfterAnnotation = "pipelines.kubeflow.org/archive-finished-runs-after"
	// DeleteAfterAnnotation: archived finished runs are deleted, with their workflows,
	// this long after they were archived. A Go duration; "0" never deletes.
	DeleteAfterAnnotation = "pipelines.kubeflow.org/delete-archived-runs-after"
)

// Policy is how long finished runs are kept in each storage state. Zero keeps them.
type Policy struct {
	// ArchiveAfter: a finished, available run is archived this long after it finished.
	ArchiveAfter time.Duration
	// DeleteAfter: an archived finished run is deleted this long after it was archived.
	DeleteAfter time.Duration
}

// minAfter is the shortest period a policy may set: the retention fields hold whole
// seconds, and shorter would delete what a user just looked at.
const minAfter = time.Minute

// Validate says whether each period is zero or at least a minute, naming the flags
// that set them.
func (p Policy) Validate() error {
	var errs []error
	for _, d := range []struct {
		name  string
		value time.Duration
	}{{"--archive-finished-runs-after", p.ArchiveAfter}, {"--delete-archived-runs-after", p.DeleteAfter}} {
		if d.value != 0 && d.value < minAfter {
			errs = append(errs, fmt.Errorf("%s must be 0 (never) or at least %s, not %s", d.name, minAfter, d.value))
		}
	}
	return errors.Join(errs...)
}

// PolicyFor returns a namespace's policy: the cluster's, with each period its
// annotations set instead. An annotation that is not a valid period is ignored (the
// cluster's period holds) and reported.
func PolicyFor(cluster Policy, annotations map[string]string) (Policy, error) {
	p := cluster
	var errs []error
	for _, a := range []struct {
		key string
		to  *time.Duration
	}{{ArchiveAfterAnnotation, &p.ArchiveAfter}, {DeleteAfterAnnotation, &p.DeleteAfter}} {
		v, ok := annotations[a.key]
		if !ok {
			continue
		}
		d, err := time.ParseDuration(v)
		if err == nil && d != 0 && d < minAfter {
			err = fmt.Errorf("shorter than %s", minAfter)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("annotation %s=%q: a period of 0 or at least %s (a Go duration such as 720h): %w",
				a.key, v, minAfter, err))
			continue
		}
		*a.to = d
	}
	return p, errors.Join(errs...)
}
