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

// Package schedule reads a job's schedule, for validation and for the job scheduler
// alike: what validation accepts is exactly what the scheduler can run. Its parsers
// return an error for any input, never panic.
package schedule

import (
	"fmt"
	"strings"
	"time"

	"github.com/robfig/cron/v3"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

const (
	// MaxCronLength bounds a cron expression; the longest sensible one, a time-zone
	// prefix and six lists, is well under it.
	MaxCronLength = 256
	// MaxIntervalSeconds is a hundred years: far beyond any schedule, and far from
	// where a time.Duration of seconds overflows (292 years).
	MaxIntervalSeconds = 100 * 365 * 24 * 60 * 60
	// maxLookback is how far back a job without catch-up looks for its latest
	// scheduled time: beyond the five years in which any accepted expression fires.
	maxLookback = 10 * 365 * 24 * time.Hour
)

// cronParser reads the 6-field form with seconds that Kubeflow Pipelines uses and the
// standard 5-field form, and descriptors such as @hourly. A CRON_TZ=Zone (or TZ=Zone)
// prefix sets the time zone; without one, schedules are in UTC.
var cronParser = cron.NewParser(cron.SecondOptional | cron.Minute | cron.Hour | cron.Dom |
	cron.Month | cron.Dow | cron.Descriptor)

// ParseCron parses a cron expression. Besides what robfig/cron rejects, it rejects
// what that parser mishandles: anything but single spaces between fields (a tab after
// a time zone made it panic), characters outside printable ASCII, a time zone that does
// not load, and expressions that match no time in the next five years.
func ParseCron(expr string) (_ cron.Schedule, err error) {
	if err := checkCronText(expr); err != nil {
		return nil, err
	}
	// The checks above keep robfig/cron on its tested paths; should it still panic,
	// the input is refused rather than the process lost.
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("cannot be parsed: %v", r)
		}
	}()
	s, err := cronParser.Parse(expr)
	if err != nil {
		return nil, err
	}
	if s.Next(time.Now()).IsZero() {
		return nil, fmt.Errorf("matches no time in the next five years")
	}
	return s, nil
}

func checkCronText(expr string) error {
	switch {
	case expr == "":
		return fmt.Errorf("must not be empty")
	case len(expr) > MaxCronLength:
		return fmt.Errorf("must be at most %d characters", MaxCronLength)
	case strings.HasPrefix(expr, " ") || strings.HasSuffix(expr, " ") || strings.Contains(expr, "  "):
		return fmt.Errorf("fields must be separated by single spaces, without leading or trailing spaces")
	}
	for i := 0; i < len(expr); i++ {
		if c := expr[i]; c < ' ' || c > '~' {
			return fmt.Errorf("must hold printable ASCII characters and spaces only (byte %d is %q)", i, c)
		}
	}
	rest := expr
	if zone, after, ok := cutZone(expr); ok {
		if zone == "" || after == "" {
			return fmt.Errorf("a time zone prefix must be followed by a space and the schedule, as in CRON_TZ=Europe/Berlin 0 12 * * *")
		}
		if _, err := time.LoadLocation(zone); err != nil {
			return fmt.Errorf("unknown time zone %q: %v", zone, err)
		}
		rest = after
	}
	// robfig/cron turns any duration under a second, negative ones too, into a second.
	if every, ok := strings.CutPrefix(rest, "@every "); ok {
		d, err := time.ParseDuration(every)
		if err != nil {
			return fmt.Errorf("@every: %v", err)
		}
		if d < time.Second || d > MaxIntervalSeconds*time.Second {
			return fmt.Errorf("@every must be between 1s and a hundred years")
		}
	}
	return nil
}

// cutZone splits a CRON_TZ= or TZ= prefix off expr, as robfig/cron reads it.
func cutZone(expr string) (zone, rest string, ok bool) {
	for _, p := range []string{"CRON_TZ=", "TZ="} {
		if after, found := strings.CutPrefix(expr, p); found {
			zone, rest, _ = strings.Cut(after, " ")
			return zone, rest, true
		}
	}
	return "", "", false
}

// ParseInterval reads intervalSeconds.
func ParseInterval(seconds int64) (time.Duration, error) {
	if seconds <= 0 || seconds > MaxIntervalSeconds {
		return 0, fmt.Errorf("must be between 1 and %d (a hundred years)", MaxIntervalSeconds)
	}
	return time.Duration(seconds) * time.Second, nil
}

// CheckWindow checks a schedule's start and end time; either may be nil.
func CheckWindow(start, end *metav1.Time) error {
	if start != nil && end != nil && !end.After(start.Time) {
		return fmt.Errorf("must be after startTime")
	}
	return nil
}

// Spec is a job's schedule, as both versions of the API hold it.
type Spec struct {
	Cron            string
	IntervalSeconds int64
	StartTime       *metav1.Time
	EndTime         *metav1.Time
}

// Schedule is when a job's runs are due: by cron expression or fixed interval,
// between its start and end time. Scheduled times are whole seconds.
type Schedule struct {
	cron     cron.Schedule
	interval time.Duration
	// start is the time the first run is due strictly after: the job's start time or
	// its creation, whichever is later.
	start time.Time
	// end is the last time a run may be due; zero means never.
	end time.Time
}

// New reads a job's schedule with the parsers validation uses. created is the job's
// creation time.
func New(s Spec, created time.Time) (*Schedule, error) {
	sch := &Schedule{start: created.UTC().Truncate(time.Second)}
	var err error
	switch {
	case s.Cron != "" && s.IntervalSeconds != 0:
		return nil, fmt.Errorf("spec.schedule: cron and intervalSeconds are mutually exclusive")
	case s.Cron != "":
		if sch.cron, err = ParseCron(s.Cron); err != nil {
			return nil, fmt.Errorf("spec.schedule.cron %q: %w", s.Cron, err)
		}
	case s.IntervalSeconds != 0:
		if sch.interval, err = ParseInterval(s.IntervalSeconds); err != nil {
			return nil, fmt.Errorf("spec.schedule.intervalSeconds %d: %w", s.IntervalSeconds, err)
		}
	default:
		return nil, fmt.Errorf("spec.schedule has neither cron nor intervalSeconds")
	}
	if err := CheckWindow(s.StartTime, s.EndTime); err != nil {
		return nil, fmt.Errorf("spec.schedule.endTime: %w", err)
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
func (s *Schedule) next(t time.Time) time.Time {
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

// Due returns the scheduled times after last (zero: none yet) up to now for which runs
// are to be created, oldest first and at most limit of them. With catch-up every missed
// time is due in turn; without it only the latest.
func (s *Schedule) Due(last, now time.Time, limit int, noCatchup bool) []time.Time {
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
// last, it looks back a minute from now (or the end time), then twice as far, until it
// finds one, at most maxLookback: ParseCron refuses expressions that fire less often.
func (s *Schedule) latest(last, now time.Time) time.Time {
	if !s.end.IsZero() && now.After(s.end) {
		// Else a schedule of seconds that ended years ago would be walked second by second.
		now = s.end
	}
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
		// The bound ends the search for a job whose start time is long past, such as
		// one written into the database without a creation time.
		if !found.IsZero() || from.Equal(last) || from.Before(s.start) || window > maxLookback {
			return found
		}
	}
}

// Upcoming is the scheduled time the next run is due at, after last: for a job without
// catch-up, the first one after now if the ones before have been skipped.
func (s *Schedule) Upcoming(last, now time.Time, noCatchup bool) time.Time {
	n := s.next(last)
	if noCatchup && !n.IsZero() && !n.After(now) {
		n = s.next(now)
	}
	return n
}
