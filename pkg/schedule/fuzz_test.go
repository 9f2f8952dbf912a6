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

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// FuzzParseCron: no input panics the parser, and what it accepts the scheduler can
// step through. The seeds, run by plain go test, are the valid forms and hostileCrons.
func FuzzParseCron(f *testing.F) {
	for _, s := range []string{"0 * * * * *", "*/5 * * * *", "@hourly", "@every 1h30m", "CRON_TZ=Europe/Berlin 0 12 * * *",
		"TZ=America/New_York 0 0 9 * * 1-5", "0 0 29 2 *", "0 0 1 1 *", "0 0 * * MON-FRI", "0-59/7 1,2,3 * JAN-DEC ?"} {
		f.Add(s)
	}
	for _, s := range hostileCrons {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, expr string) {
		s, err := ParseCron(expr)
		if err != nil {
			return
		}
		if strings.ContainsFunc(expr, func(r rune) bool { return r < ' ' || r > '~' }) {
			t.Fatalf("accepted %q, which holds a control or non-ASCII character", expr)
		}
		if s.Next(t0).IsZero() && s.Next(time.Now()).IsZero() {
			t.Fatalf("accepted %q, which never fires", expr)
		}
	})
}

// FuzzSchedule: for any schedule New accepts, in any window, due times are ascending,
// after last, at most now and within the end time, and nothing panics or loops.
func FuzzSchedule(f *testing.F) {
	day := int64(24 * 3600)
	base := t0.Unix()
	f.Add("0 * * * * *", int64(0), base, int64(0), int64(0), int64(0), base+day, false)
	f.Add("* * * * * *", int64(0), base, int64(0), base+60, int64(0), base+10*365*day, true)
	f.Add("", int64(10), base, base+3600, base+7200, base+3610, base+day, true)
	f.Add("@yearly", int64(0), int64(-62135596800), int64(0), int64(0), int64(0), base, true) // created at year 1
	f.Add("0 0 29 2 *", int64(0), int64(-62135596800), int64(0), base-365*day, int64(0), base, true)
	f.Add("@yearly", int64(0), int64(-62135596800), int64(0), int64(-62135596800+3600), int64(0), base, true) // TestDueEndsForAncientStart
	f.Add("", int64(MaxIntervalSeconds), int64(-62135596800), int64(0), int64(0), int64(0), base, false)
	f.Add("CRON_TZ=UTC\t0\t*\t*\t*\t*", int64(0), base, int64(0), int64(0), int64(0), base+day, false)
	f.Fuzz(func(t *testing.T, expr string, interval, created, start, end, last, now int64, noCatchup bool) {
		// Within what metav1.Time can carry (years 1 to 9999).
		for _, v := range []*int64{&created, &start, &end, &last, &now} {
			*v = min(max(*v, -62135596800), 253402300799)
		}
		spec := Spec{Cron: expr, IntervalSeconds: interval}
		if start != 0 {
			spec.StartTime = &metav1.Time{Time: time.Unix(start, 0)}
		}
		if end != 0 {
			spec.EndTime = &metav1.Time{Time: time.Unix(end, 0)}
		}
		s, err := New(spec, time.Unix(created, 0))
		if err != nil {
			return
		}
		lastT, nowT := time.Unix(last, 0).UTC(), time.Unix(now, 0).UTC()
		if last == 0 {
			lastT = time.Time{}
		}
		prev := lastT
		for _, d := range s.Due(lastT, nowT, 5, noCatchup) {
			if !d.After(prev) || d.After(nowT) || (spec.EndTime != nil && d.After(spec.EndTime.Time)) {
				t.Fatalf("due time %s: not after %s, or after now %s or the end time", d, prev, nowT)
			}
			prev = d
		}
		if u := s.Upcoming(lastT, nowT, noCatchup); !u.IsZero() && !u.After(lastT) {
			t.Fatalf("upcoming %s is not after last %s", u, lastT)
		}
	})
}
