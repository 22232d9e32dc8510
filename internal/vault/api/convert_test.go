package api

import (
	"reflect"
	"testing"
	"time"

	"github.com/cairnbackup/cairn/api/agentv1"
	"github.com/cairnbackup/cairn/api/vaultv1"
	"github.com/cairnbackup/cairn/internal/vault/jobs"
	"github.com/cairnbackup/cairn/internal/vault/store"
)

// filled returns a T with every field set to something other than its zero value.
func filled[T any](t *testing.T) T {
	t.Helper()
	var v T
	fill(t, reflect.ValueOf(&v).Elem())
	return v
}

func fill(t *testing.T, v reflect.Value) {
	t.Helper()
	switch v.Kind() {
	case reflect.String:
		v.SetString("x")
	case reflect.Int, reflect.Int64:
		v.SetInt(7)
	case reflect.Uint8:
		v.SetUint('x')
	case reflect.Float64:
		v.SetFloat(0.5)
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Pointer:
		v.Set(reflect.New(v.Type().Elem()))
		fill(t, v.Elem())
	case reflect.Slice:
		v.Set(reflect.MakeSlice(v.Type(), 1, 1))
		fill(t, v.Index(0))
	case reflect.Map:
		v.Set(reflect.MakeMap(v.Type()))
		k, e := reflect.New(v.Type().Key()).Elem(), reflect.New(v.Type().Elem()).Elem()
		fill(t, k)
		fill(t, e)
		v.SetMapIndex(k, e)
	case reflect.Struct:
		if v.Type() == reflect.TypeFor[time.Time]() {
			v.Set(reflect.ValueOf(fixedClock()))
			return
		}
		for i := range v.NumField() {
			fill(t, v.Field(i))
		}
	default:
		t.Fatalf("cannot fill a %s", v.Type())
	}
}

// unset names the fields of struct v (and of the structs it embeds) left at their zero value.
func unset(v reflect.Value) []string {
	var out []string
	for i := range v.NumField() {
		f := v.Type().Field(i)
		switch {
		case f.Anonymous:
			out = append(out, unset(v.Field(i))...)
		case v.Field(i).IsZero():
			out = append(out, f.Name)
		}
	}
	return out
}

// TestConversionsCarryEveryField: what the store and the life cycle hold reaches the API's
// answers field by field, through the agent protocol's shapes where a job's spec and result are
// kept in them.
func TestConversionsCarryEveryField(t *testing.T) {
	apiSpec := filled[vaultv1.InstanceSpec](t)
	apiSpec.RPO = "26h"
	apiSpec.LockFor = "30d"
	spec, err := storeInstanceSpec(apiSpec)
	if err != nil {
		t.Fatal(err)
	}
	in := filled[store.Instance](t)
	in.InstanceSpec = spec
	instance, err := apiInstance(in)
	if err != nil {
		t.Fatal(err)
	}
	instance.NextBackup = &time.Time{}                      // the API's own, from the policy
	instance.RPOStatus = &vaultv1.RPOStatus{}               // the API's own, from the policy and the recovery points
	instance.Validation = &vaultv1.Validation{}             // the API's own, from the instance's newest validate job
	instance.LastTestRestore = &vaultv1.TestRestoreStatus{} // the API's own, from the instance's newest test-restore job

	record := filled[jobs.Record](t)
	record.Spec, record.Result = []byte(`{"verify":{"recoveryPoint":"x"}}`), []byte(`{"warnings":["x"]}`)
	jobsOut, err := apiJobs(store.List[jobs.Record]{Items: []jobs.Record{record}, Next: "x"})
	if err != nil {
		t.Fatal(err)
	}
	point := apiRecoveryPoint(filled[store.RecoveryPoint](t))
	point.Verification = &vaultv1.Verification{} // the API's own, from the point's newest verify job
	for name, out := range map[string]any{
		"cluster":        apiCluster(filled[store.Cluster](t)),
		"instance":       instance,
		"recovery point": point,
		"verification":   *apiVerification(filled[jobs.Job](t)),
		"verify result":  *apiVerifyResult(filled[*agentv1.VerifyResult](t)),
		"job":            apiJob(filled[jobs.Job](t)),
		"listed job":     jobsOut.Items[0],
		"log line":       apiLogLine(filled[store.LogLine](t)),
		"audit entry":    apiAuditEntry(filled[store.AuditEntry](t)),
		"heartbeat":      storeHeartbeat(filled[agentv1.Heartbeat](t)),
	} {
		if missing := unset(reflect.ValueOf(out)); len(missing) > 0 {
			t.Errorf("%s: %v not carried over", name, missing)
		}
	}
	if jobsOut.Next != "x" {
		t.Errorf("the job list's cursor was lost")
	}
}

// TestStoreVocabularyIsTheAPIs: the states the store writes and derives are shown as they are.
func TestStoreVocabularyIsTheAPIs(t *testing.T) {
	for got, want := range map[string]string{store.HealthPending: vaultv1.HealthPending, store.HealthHealthy: vaultv1.HealthHealthy,
		store.HealthUnhealthy: vaultv1.HealthUnhealthy, store.HealthRevoked: vaultv1.HealthRevoked, store.InstanceProtected: vaultv1.InstanceProtected} {
		if got != want {
			t.Errorf("the store's %q is the API's %q", got, want)
		}
	}
}
