package skewtest

import (
	"encoding/json"
	"reflect"
	"testing"
)

func decode(t *testing.T, s string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestMissing(t *testing.T) {
	want := decode(t, `{"id":1,"kind":"backup","spec":{"backup":{"recoveryPoint":"a","config":{"includeNamespaces":["shop"]}}},"createdBy":"x"}`)
	same := decode(t, `{"id":1,"kind":"backup","spec":{"backup":{"recoveryPoint":"a","config":{"includeNamespaces":["shop"]}}},"createdBy":"y","extra":true}`)
	if got := Missing(want, same, "createdBy"); len(got) != 0 {
		t.Errorf("same shape: %v", got)
	}
	broken := decode(t, `{"id":"1","kind":"restore","spec":{"backup":{"config":{"includeNamespaces":[]}}}}`)
	got := Missing(want, broken, "createdBy")
	wantDiff := []string{"createdBy: missing", "id: float64, got string", "kind: backup, got restore", "spec.backup.config.includeNamespaces: 1 items, got 0", "spec.backup.recoveryPoint: missing"}
	if !reflect.DeepEqual(got, wantDiff) {
		t.Errorf("Missing = %q\nwant %q", got, wantDiff)
	}
}

func TestUnknown(t *testing.T) {
	a := decode(t, `{"state":"succeeded","result":{"warnings":["w"]},"logs":[{"level":"info","message":"m"}]}`)
	b := decode(t, `{"state":"failed","error":"e","result":{"errors":["x"]}}`)
	got := decode(t, `{"state":"failed","error":"e","result":{"errors":["x"],"checks":[]},"logs":[{"level":"info","message":"m","source":"s"}],"protocol":2}`)
	want := []string{"logs[0].source", "protocol", "result.checks"}
	if u := Unknown(got, a, b); !reflect.DeepEqual(u, want) {
		t.Errorf("Unknown = %q, want %q", u, want)
	}
}

func TestRecorded(t *testing.T) {
	m, _, err := Recorded(Previous, "agent-heartbeat.json")
	if err != nil || m["agentVersion"] == nil {
		t.Fatalf("recorded heartbeat: %v %v", m, err)
	}
}
