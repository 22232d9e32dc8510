package api

import (
	"net/http"
	"strings"
	"testing"

	"github.com/cairnbackup/cairn/internal/vault/access"
)

// TestStorageURLIsNeverEchoed: a storage URL the vault refuses may carry credentials, so neither
// the answer nor the log repeats it; mem:// keeps nothing and is refused as a location.
func TestStorageURLIsNeverEchoed(t *testing.T) {
	f := newFixture(t)
	f.createPolicy(t, "prod", "spare")
	f.cluster(t, "spare-cluster")
	for _, url := range []string{"s3://AKIAEXAMPLE:hunter2@bucket/%zz", "ftp://AKIAEXAMPLE:hunter2@host/x", "azblob://acct/c?sig=hunter2", "mem://"} {
		s := instanceSpec("new")
		s.Cluster, s.Policy, s.Storage.URL = "spare-cluster", "spare", url
		rec := f.do(t, http.MethodPost, "/api/v1/instances", f.tokens[access.RoleContributor], mustJSON(s))
		if rec.Code != http.StatusUnprocessableEntity {
			t.Errorf("%s: %d %s, want 422", url, rec.Code, rec.Body)
		}
		for _, where := range []string{rec.Body.String(), f.logs.String()} {
			if strings.Contains(where, "hunter2") || strings.Contains(where, "AKIAEXAMPLE") {
				t.Errorf("%s: a credential was repeated: %s", url, where)
			}
		}
	}
	if _, err := f.st.GetInstance(t.Context(), "prod", "new"); err == nil {
		t.Error("an instance with a refused storage URL was created")
	}
}
