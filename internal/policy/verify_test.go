package policy

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func TestVerifyScheduleValidation(t *testing.T) {
	for _, v := range []VerifySchedule{
		{Structure: Duration(7 * day), Data: Duration(30 * day)}, {Structure: Duration(time.Hour)}, {Data: Duration(time.Hour)},
		{Structure: Duration(time.Hour), Data: Duration(time.Hour + time.Minute)},
	} {
		p := validPolicy()
		p.Verify = &v
		if err := p.Validate(); err != nil {
			t.Errorf("%+v: %v", v, err)
		}
	}
	for _, tc := range []struct {
		v    VerifySchedule
		want []string
	}{
		{VerifySchedule{}, []string{"verify: give structure, data or both"}},
		{VerifySchedule{Structure: Duration(10 * time.Minute)}, []string{"verify.structure 10m: at least 1h"}},
		{VerifySchedule{Data: Duration(59 * time.Minute)}, []string{"verify.data 59m: at least 1h"}},
		{VerifySchedule{Structure: -Duration(day)}, []string{"verify.structure -1d: must be positive"}},
		{VerifySchedule{Structure: Duration(30 * day), Data: Duration(7 * day)},
			[]string{"verify.structure 30d is not shorter than verify.data 1w: every data verification also checks the structure"}},
		{VerifySchedule{Structure: Duration(7 * day), Data: Duration(7 * day)}, []string{"verify.structure 1w is not shorter than verify.data 1w"}},
		{VerifySchedule{Structure: Duration(time.Minute), Data: Duration(time.Second)},
			[]string{"verify.structure 1m: at least 1h", "verify.data 1s: at least 1h", "verify.structure 1m is not shorter than verify.data 1s"}},
	} {
		p := validPolicy()
		p.Verify = &tc.v
		err := p.Validate()
		if err == nil {
			t.Errorf("%+v: valid", tc.v)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%+v: %q does not say %q", tc.v, err, w)
			}
		}
	}
	// The section's problems are joined with the policy's others.
	p := validPolicy()
	p.Name = ""
	p.Verify = &VerifySchedule{}
	if err := p.Validate(); err == nil || !strings.Contains(err.Error(), "name: required") || !strings.Contains(err.Error(), "verify: give") {
		t.Errorf("joined problems: %v", err)
	}
}

func TestVerifyScheduleDue(t *testing.T) {
	t0 := time.Date(2026, 11, 23, 0, 30, 0, 0, time.UTC)
	both := VerifySchedule{Structure: Duration(7 * day), Data: Duration(30 * day)}
	for _, tc := range []struct {
		name                 string
		v                    VerifySchedule
		now, structure, data time.Time
		wantDue, wantData    bool
	}{
		{"nothing yet", both, t0.Add(7*day - time.Second), t0, t0, false, false},
		{"structure at its interval", both, t0.Add(7 * day), t0, t0, true, false},
		{"data at its interval, before a structure due too", both, t0.Add(30 * day), t0.Add(28 * day), t0, true, true},
		{"structure counted from the last data verification", both, t0.Add(36 * day), t0.Add(28 * day), t0.Add(30 * day), false, false},
		{"structure after the data one", both, t0.Add(37 * day), t0.Add(28 * day), t0.Add(30 * day), true, false},
		{"missed intervals collapse", both, t0.Add(400 * day), t0, t0, true, true},
		{"data only", VerifySchedule{Data: Duration(30 * day)}, t0.Add(29 * day), t0, t0, false, false},
		{"data only, due", VerifySchedule{Data: Duration(30 * day)}, t0.Add(30 * day), t0, t0, true, true},
		{"structure only", VerifySchedule{Structure: Duration(7 * day)}, t0.Add(400 * day), t0, t0, true, false},
	} {
		due, data := tc.v.Due(tc.now, tc.structure, tc.data)
		if due != tc.wantDue || data != tc.wantData {
			t.Errorf("%s: due %v, data %v; want %v, %v", tc.name, due, data, tc.wantDue, tc.wantData)
		}
	}
}

func TestVerifyScheduleJSONAndWords(t *testing.T) {
	var p Policy
	if err := json.Unmarshal([]byte(`{"name":"n","schedule":{"everyHours":4},"retention":{"default":"7d"},"verify":{"structure":"7d","data":"30d"}}`), &p); err != nil {
		t.Fatal(err)
	}
	if p.Verify == nil || *p.Verify != (VerifySchedule{Structure: Duration(7 * day), Data: Duration(30 * day)}) {
		t.Fatalf("verify %+v", p.Verify)
	}
	b, err := json.Marshal(VerifySchedule{Data: Duration(30 * day)})
	if err != nil || string(b) != `{"data":"30d"}` {
		t.Errorf("marshal: %s %v", b, err)
	}
	for v, want := range map[VerifySchedule]string{
		{Structure: Duration(7 * day), Data: Duration(30 * day)}: "structure every 1w, data every 30d",
		{Data: Duration(30 * day)}:                               "data every 30d",
		{Structure: Duration(36 * time.Hour)}:                    "structure every 36h",
	} {
		if got := v.Describe(); got != want {
			t.Errorf("%+v: %q, want %q", v, got, want)
		}
	}
	if got := (Policy{}).DescribeVerify(); got != "none" {
		t.Errorf("no verify: %q", got)
	}
}
