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

package schedule

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

var t0 = time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)

func at(d time.Duration) time.Time { return t0.Add(d) }

func mtime(d time.Duration) *metav1.Time { t := metav1.NewTime(at(d)); return &t }

func TestParseCron(t *testing.T) {
	for _, tc := range []struct {
		expr string
		from time.Time
		want time.Time
	}{
		{"0 * * * * *", at(30 * time.Second), at(time.Minute)},         // KFP's form, seconds first
		{"30 0 * * * *", at(0), at(30 * time.Second)},                  // second 30 of minute 0
		{"*/5 * * * *", at(time.Minute), at(5 * time.Minute)},          // standard 5 fields
		{"0 12 * * *", at(0), at(2 * time.Hour)},                       // noon UTC
		{"@hourly", at(time.Second), at(time.Hour)},                    // descriptor
		{"CRON_TZ=Europe/Berlin 0 12 * * *", at(0), at(time.Hour)},     // noon in Berlin is 11:00 UTC in March
		{"*/10 * * * * *", at(3 * time.Second), at(10 * time.Second)},  // every ten seconds
		{"TZ=Asia/Tokyo 0 0 21 * * *", at(0), at(2 * time.Hour)},       // 6 fields with a zone: 21:00 Tokyo is 12:00 UTC
		{"CRON_TZ=UTC @every 90s", at(0), at(90 * time.Second)},        // a fixed interval from the time given
		{"@daily", at(0), time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)}, // another descriptor
	} {
		s, err := ParseCron(tc.expr)
		if err != nil {
			t.Errorf("ParseCron(%q): %v", tc.expr, err)
			continue
		}
		if got := s.Next(tc.from).UTC(); !got.Equal(tc.want) {
			t.Errorf("%q after %s: got %s, want %s", tc.expr, tc.from, got, tc.want)
		}
	}
	for _, bad := range []string{"", "* * * *", "61 * * * * *", "0 0 0 * * * *", "every minute", "@every -1s", "0 0 30 2 *"} {
		if _, err := ParseCron(bad); err == nil {
			t.Errorf("ParseCron(%q) accepted it", bad)
		}
	}
}

// hostileCrons are expressions a tenant may send that robfig/cron mishandles or that
// are otherwise not schedules: each must be an error, never a panic. The fuzz target's
// seeds include them.
var hostileCrons = []string{
	"CRON_TZ=UTC\t0\t*\t*\t*\t*", // issue 13: panicked robfig/cron and killed every replica
	"TZ=UTC\t0 * * * *",
	"CRON_TZ=UTC",
	"TZ=",
	"CRON_TZ=",
	"CRON_TZ= 0 * * * *",
	"CRON_TZ=UTC ",
	"CRON_TZ=Not/AZone 0 * * * *",
	"CRON_TZ=../../../../etc/passwd 0 * * * *",
	"0\t*\t*\t*\t*",
	"0  * * * *",
	" 0 * * * *",
	"0 * * * * ",
	"0 * * * *\n",
	"0 * * * *\x00",
	"0\u00a0*\u00a0*\u00a0*\u00a0*", // no-break spaces
	"0\u2003* * * *",                // an em space
	"0\u3000* * * *",                // an ideographic space
	"99999999999999999999 * * * *",
	"0-99999999999999999999 * * * *",
	"*/0 * * * *",
	"*/-1 * * * *",
	"@every 99999999999999h",
	"@every 1ns",
	"@every ",
	"@",
	"@bogus",
	strings.Repeat("0,", 200) + "0 * * * *",
}

func TestParseCronRejectsHostileInput(t *testing.T) {
	for _, expr := range hostileCrons {
		func() {
			defer func() {
				if r := recover(); r != nil {
					t.Errorf("ParseCron(%q) panicked: %v", expr, r)
				}
			}()
			if _, err := ParseCron(expr); err == nil {
				t.Errorf("ParseCron(%q) accepted it", expr)
			}
		}()
	}
}

func TestScheduleDue(t *testing.T) {
	minute := Spec{Cron: "0 * * * * *"}
	for _, tc := range []struct {
		name      string
		schedule  Spec
		last, now time.Time
		limit     int
		noCatchup bool
		want      []time.Time
	}{{
		name: "nothing due before the first time", schedule: minute,
		now: at(59 * time.Second), limit: 1,
	}, {
		name: "first time after creation", schedule: minute,
		now: at(time.Minute), limit: 1, want: []time.Time{at(time.Minute)},
	}, {
		name: "catch up one at a time", schedule: minute,
		now: at(5*time.Minute + 30*time.Second), limit: 1, want: []time.Time{at(time.Minute)},
	}, {
		name: "catch up as many as the limit allows", schedule: minute,
		last: at(time.Minute), now: at(5*time.Minute + 30*time.Second), limit: 3,
		want: []time.Time{at(2 * time.Minute), at(3 * time.Minute), at(4 * time.Minute)},
	}, {
		name: "no catch-up: only the latest", schedule: minute,
		last: at(time.Minute), now: at(5*time.Minute + 30*time.Second), limit: 3, noCatchup: true,
		want: []time.Time{at(5 * time.Minute)},
	}, {
		name: "no catch-up, nothing new", schedule: minute,
		last: at(5 * time.Minute), now: at(5*time.Minute + 30*time.Second), limit: 3, noCatchup: true,
	}, {
		name: "no room", schedule: minute,
		now: at(5 * time.Minute), limit: 0,
	}, {
		name: "interval", schedule: Spec{IntervalSeconds: 10},
		now: at(35 * time.Second), limit: 10,
		want: []time.Time{at(10 * time.Second), at(20 * time.Second), at(30 * time.Second)},
	}, {
		name: "interval, no catch-up", schedule: Spec{IntervalSeconds: 10},
		last: at(10 * time.Second), now: at(55 * time.Second), limit: 10, noCatchup: true,
		want: []time.Time{at(50 * time.Second)},
	}, {
		name:     "start time later than creation",
		schedule: Spec{IntervalSeconds: 10, StartTime: mtime(time.Hour)},
		now:      at(time.Hour + 25*time.Second), limit: 10,
		want: []time.Time{at(time.Hour + 10*time.Second), at(time.Hour + 20*time.Second)},
	}, {
		name:     "start time before creation: nothing before creation",
		schedule: Spec{Cron: "0 * * * * *", StartTime: mtime(-time.Hour)},
		now:      at(90 * time.Second), limit: 10, want: []time.Time{at(time.Minute)},
	}, {
		name:     "end time",
		schedule: Spec{Cron: "0 * * * * *", EndTime: mtime(2*time.Minute + time.Second)},
		now:      at(10 * time.Minute), limit: 10, want: []time.Time{at(time.Minute), at(2 * time.Minute)},
	}, {
		name:     "end time, no catch-up",
		schedule: Spec{Cron: "0 * * * * *", EndTime: mtime(2*time.Minute + time.Second)},
		now:      at(10 * time.Minute), limit: 10, noCatchup: true, want: []time.Time{at(2 * time.Minute)},
	}, {
		name:     "end time, interval, no catch-up",
		schedule: Spec{IntervalSeconds: 60, EndTime: mtime(2*time.Minute + time.Second)},
		now:      at(10 * time.Minute), limit: 10, noCatchup: true, want: []time.Time{at(2 * time.Minute)},
	}, {
		name: "ended", schedule: Spec{Cron: "0 * * * * *", EndTime: mtime(2*time.Minute + time.Second)},
		last: at(2 * time.Minute), now: at(10 * time.Minute), limit: 10,
	}, {
		name: "no catch-up after a year's pause of a schedule of seconds", schedule: Spec{Cron: "* * * * * *"},
		last: at(time.Second), now: at(365*24*time.Hour + 500*time.Millisecond), limit: 1, noCatchup: true,
		want: []time.Time{at(365 * 24 * time.Hour)},
	}, {
		name: "no catch-up of a yearly schedule", schedule: Spec{Cron: "@yearly"},
		now: at(3 * 365 * 24 * time.Hour), limit: 1, noCatchup: true,
		want: []time.Time{time.Date(2029, 1, 1, 0, 0, 0, 0, time.UTC)},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := New(tc.schedule, t0)
			if err != nil {
				t.Fatal(err)
			}
			got := s.Due(tc.last, tc.now, tc.limit, tc.noCatchup)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("due (-want +got):\n%s", diff)
			}
		})
	}
}

func TestScheduleUpcoming(t *testing.T) {
	s, err := New(Spec{Cron: "0 * * * * *", EndTime: mtime(3 * time.Minute)}, t0)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name      string
		last, now time.Time
		noCatchup bool
		want      time.Time
	}{
		{"none yet", time.Time{}, at(10 * time.Second), false, at(time.Minute)},
		{"after the last", at(time.Minute), at(70 * time.Second), false, at(2 * time.Minute)},
		{"overdue with catch-up", at(time.Minute), at(150 * time.Second), false, at(2 * time.Minute)},
		{"skipped without catch-up", at(time.Minute), at(150 * time.Second), true, at(3 * time.Minute)},
		{"ended", at(3 * time.Minute), at(4 * time.Minute), false, time.Time{}},
	} {
		if got := s.Upcoming(tc.last, tc.now, tc.noCatchup); !got.Equal(tc.want) {
			t.Errorf("%s: got %s, want %s", tc.name, got, tc.want)
		}
	}
}

func TestNewRejects(t *testing.T) {
	for _, s := range []Spec{{}, {Cron: "bad"}, {IntervalSeconds: -1}, {IntervalSeconds: MaxIntervalSeconds + 1},
		{Cron: "CRON_TZ=UTC\t0\t*\t*\t*\t*"}, {Cron: "0 * * * *", IntervalSeconds: 60},
		{IntervalSeconds: 60, StartTime: mtime(time.Hour), EndTime: mtime(time.Hour)}} {
		if _, err := New(s, t0); err == nil {
			t.Errorf("New(%+v) accepted it", s)
		}
	}
}

// TestDueEndsForAncientStart: a job without catch-up whose creation time is year 1 (as
// one written into the database without it) and whose end time leaves no scheduled
// time once searched back for ever; it looped forever before maxLookback.
func TestDueEndsForAncientStart(t *testing.T) {
	created := time.Unix(-62135596800, 0)
	end := metav1.NewTime(created.Add(time.Hour))
	s, err := New(Spec{Cron: "@yearly", EndTime: &end}, created)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan []time.Time, 1)
	go func() { done <- s.Due(time.Time{}, t0, 1, true) }()
	select {
	case d := <-done:
		if len(d) != 0 {
			t.Errorf("due %v, want none", d)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("Due did not return within 20s")
	}
}
