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

package job

import (
	"fmt"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/apis/pipelines/v1beta1"
)

// cronParser reads the 6-field form with seconds that Kubeflow Pipelines uses and the
// standard 5-field form, and descriptors such as @hourly. A CRON_TZ=Zone prefix sets
// the time zone; without one, schedules are in UTC.
var cronParser = cron.NewParser(cron.SecondOptional | cron.Minute | cron.Hour | cron.Dom |
	cron.Month | cron.Dow | cron.Descriptor)

// ParseCron parses a job's cron expression.
func ParseCron(expr string) (cron.Schedule, error) {
	return cronParser.Parse(expr)
}

// schedule is when a job's runs are due: by cron expression or fixed interval,
// between its start and end time. Scheduled times are whole seconds.
type schedule struct {
	cron     cron.Schedule
	interval time.Duration
	// start is the time the first run is due strictly after: the job's start time or
	// its creation, whichever is later.
	start time.Time
	// end is the last time a run may be due; zero means never.
	end time.Time
}

// newSchedule reads a job's schedule. created is the job's creation time.
func newSchedule(s v1beta1.Schedule, created time.Time) (*schedule, error) {
	sch := &schedule{start: created.UTC().Truncate(time.Second)}
	switch {
	case s.Cron != "":
		c, err := ParseCron(s.Cron)
		if err != nil {
			return nil, fmt.Errorf("spec.schedule.cron %q: %w", s.Cron, err)
		}
		sch.cron = c
	case s.IntervalSeconds > 0:
		sch.interval = time.Duration(s.IntervalSeconds) * time.Second
	default:
		return nil, fmt.Errorf("spec.schedule has neither cron nor a positive intervalSeconds")
	}
	if s.StartTime != nil && s.StartTime.After(sch.start) {
		sch.start = s.StartTime.UTC().Truncate(time.Second)
	}
	if s.EndTime != nil {
		sch.end = s.EndTime.UTC()
	}
	return sch, nil
}

// next is the first scheduled time strictly after t, or zero if there is none before
// the end time.
func (s *schedule) next(t time.Time) time.Time {
	if t.Before(s.start) {
		t = s.start
	}
	var n time.Time
	if s.cron != nil {
		// Without CRON_TZ the expression is read in the location of the time given.
		n = s.cron.Next(t.UTC())
	} else {
		n = t.Add(s.interval)
	}
	if n.IsZero() || (!s.end.IsZero() && n.After(s.end)) {
		return time.Time{}
	}
	return n.UTC()
}

// due returns the scheduled times after last (zero: none yet) up to now for which runs
// are to be created, oldest first and at most limit of them. With catch-up every missed
// time is due in turn; without it only the latest.
func (s *schedule) due(last, now time.Time, limit int, noCatchup bool) []time.Time {
	if limit <= 0 {
		return nil
	}
	if noCatchup {
		if t := s.latest(last, now); !t.IsZero() {
			return []time.Time{t}
		}
		return nil
	}
	var times []time.Time
	for t := s.next(last); !t.IsZero() && !t.After(now) && len(times) < limit; t = s.next(t) {
		times = append(times, t)
	}
	return times
}

// latest is the last scheduled time after last and at most now, or zero. A job can
// have been paused for long on a schedule of seconds: rather than walk every time since
// last, it looks back a minute from now, then twice as far, until it finds one.
func (s *schedule) latest(last, now time.Time) time.Time {
	if s.cron == nil {
		first := s.next(last)
		if first.IsZero() || first.After(now) {
			return time.Time{}
		}
		t := first.Add(now.Sub(first) / s.interval * s.interval)
		if !s.end.IsZero() && t.After(s.end) {
			t = first.Add(s.end.Sub(first) / s.interval * s.interval)
		}
		return t
	}
	for window := time.Minute; ; window *= 2 {
		from := now.Add(-window)
		if !from.After(last) {
			from = last
		}
		var found time.Time
		for t := s.next(from); !t.IsZero() && !t.After(now); t = s.next(t) {
			found = t
		}
		if !found.IsZero() || from.Equal(last) || from.Before(s.start) {
			return found
		}
	}
}

// upcoming is the scheduled time the next run is due at, after last: for a job without
// catch-up, the first one after now if the ones before have been skipped.
func (s *schedule) upcoming(last, now time.Time, noCatchup bool) time.Time {
	n := s.next(last)
	if noCatchup && !n.IsZero() && !n.After(now) {
		n = s.next(now)
	}
	return n
}
