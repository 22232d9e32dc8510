package api

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/cairnbackup/cairn/api/vaultv1"
	"github.com/cairnbackup/cairn/internal/vault/access"
)

// TestClustersArePaged: GET /clusters pages by name with limit and cursor as its OpenAPI says,
// and a cursor the vault did not give out is an error, not the first page.
func TestClustersArePaged(t *testing.T) {
	f := newFixture(t)
	for i := range 4 {
		f.cluster(t, fmt.Sprintf("page-%d", i))
	}
	reader := f.tokens[access.RoleReader]
	var names []string
	cursor := ""
	for pages := 0; ; pages++ {
		if pages > 10 {
			t.Fatal("the pages never end")
		}
		var list vaultv1.List[vaultv1.Cluster]
		mustDecode(t, f.do(t, "GET", "/api/v1/clusters?limit=2&cursor="+cursor, reader, ""), http.StatusOK, &list)
		if len(list.Items) > 2 {
			t.Fatalf("limit 2 gave %d", len(list.Items))
		}
		for _, c := range list.Items {
			names = append(names, c.Name)
		}
		if list.Next == "" {
			break
		}
		cursor = list.Next
	}
	want := []string{agentCluster, "page-0", "page-1", "page-2", "page-3"}
	if fmt.Sprint(names) != fmt.Sprint(want) {
		t.Errorf("paged through %v, want %v", names, want)
	}
	rec := f.do(t, "GET", "/api/v1/clusters?cursor=!!not-a-cursor", reader, "")
	if e := decodeErrorBody(t, rec); rec.Code != http.StatusUnprocessableEntity || !strings.Contains(e.Message, "is not a cursor this vault gave out") {
		t.Errorf("a bad cursor: %d %+v", rec.Code, e)
	}
	if rec := f.do(t, "GET", "/api/v1/clusters?limit=-1", reader, ""); rec.Code != http.StatusBadRequest {
		t.Errorf("a bad limit: %d", rec.Code)
	}
}

// TestAgentValuesAreBounded: an agent reporting a negative or absurd size or count is refused
// (422 naming the field), and nothing of it is stored.
func TestAgentValuesAreBounded(t *testing.T) {
	f := newFixture(t)
	for path, body := range map[string]string{
		"/api/v1/agent/heartbeat": `{"agentVersion":"` + strings.Repeat("v", 200) + `","kubernetesVersion":"v1.35.0"}`,
	} {
		rec := f.do(t, "POST", path, f.agentToken, body)
		if e := decodeErrorBody(t, rec); rec.Code != http.StatusUnprocessableEntity || e.Field != "agentVersion" {
			t.Errorf("%s: %d %+v", path, rec.Code, e)
		}
	}
	job := f.runningAgentJob(t).ID
	for body, field := range map[string]string{
		`{"progress":{"items":-1,"bytes":0}}`:                  "progress.items",
		`{"progress":{"items":1,"bytes":9223372036854775807}}`: "progress.bytes",
	} {
		rec := f.do(t, "POST", fmt.Sprintf("/api/v1/agent/jobs/%d/progress", job), f.agentToken, body)
		if e := decodeErrorBody(t, rec); rec.Code != http.StatusUnprocessableEntity || e.Field != field {
			t.Errorf("progress %s: %d %+v", body, rec.Code, e)
		}
	}
	rec := f.do(t, "POST", fmt.Sprintf("/api/v1/agent/jobs/%d/complete", job), f.agentToken,
		`{"state":"succeeded","result":{"recoveryPoint":{"name":"rp-bad","instance":"web","cluster":"`+agentCluster+`","items":3,"rawBytes":-5,"storedBytes":10,"volumes":0,"snapshotBytes":0,"job":1}}}`)
	if e := decodeErrorBody(t, rec); rec.Code != http.StatusUnprocessableEntity || e.Field != "result.recoveryPoint.rawBytes" {
		t.Fatalf("complete with a negative size: %d %+v", rec.Code, e)
	}
	if _, err := f.st.GetRecoveryPoint(t.Context(), "prod", "rp-bad"); err == nil {
		t.Error("the refused recovery point was stored")
	}
}

// TestRegistrationNamesItsGrant: a registration asks for a grant (default full) and the answer
// says which it made; an unknown grant is a 422 naming the field.
func TestRegistrationNamesItsGrant(t *testing.T) {
	f := newFixture(t)
	admin := f.tokens[access.RoleContributor]
	var g vaultv1.TrustGrant
	mustDecode(t, f.do(t, "POST", "/api/v1/clusters", admin, `{"name":"full-one"}`), http.StatusCreated, &g)
	if g.Grant != "full" {
		t.Errorf("default grant %q", g.Grant)
	}
	mustDecode(t, f.do(t, "POST", "/api/v1/clusters", admin, `{"name":"archive","grant":"backup-only"}`), http.StatusCreated, &g)
	if g.Grant != "backup-only" {
		t.Errorf("grant %q", g.Grant)
	}
	rec := f.do(t, "POST", "/api/v1/clusters", admin, `{"name":"other","grant":"root"}`)
	if e := decodeErrorBody(t, rec); rec.Code != http.StatusUnprocessableEntity || e.Field != "grant" {
		t.Errorf("unknown grant: %d %+v", rec.Code, e)
	}
	if _, err := f.st.GetCluster(t.Context(), "prod", "other"); err == nil {
		t.Error("a registration with an unknown grant was stored")
	}
}
