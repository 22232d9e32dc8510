package api

import (
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/cairnbackup/cairn/api/vaultv1"
	"github.com/cairnbackup/cairn/internal/archive"
	"github.com/cairnbackup/cairn/internal/restore"
	"github.com/cairnbackup/cairn/internal/vault/access"
)

// TestStorageURLIsNeverEchoed: a storage URL the vault refuses may carry credentials, so neither
// the answer nor the log repeats it; mem:// keeps nothing and is refused as a location.
func TestStorageURLIsNeverEchoed(t *testing.T) {
	f := newFixture(t)
	f.createPolicy(t, "prod", "spare")
	f.cluster(t, "spare-cluster")
	for _, url := range []string{"s3://AKIAEXAMPLE:hunter2@bucket/%zz", "ftp://AKIAEXAMPLE:hunter2@host/x", "azblob://acct/c?sig=hunter2", "s3://bucket/p?AKIAEXAMPLE=hunter2", "s3://bucket/p?endpoint=http://AKIAEXAMPLE:hunter2@127.0.0.1:7070", "mem://"} {
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

// TestRestoreChoicesAreTheEngines: the API's lists of conflict policies and volume modes (its
// contract) are the restore engine's, which owns them.
func TestRestoreChoicesAreTheEngines(t *testing.T) {
	if !slices.Equal(vaultv1.ConflictPolicies, restore.ConflictPolicies) || !slices.Equal(vaultv1.VolumeModes, restore.VolumeModes) {
		t.Errorf("the API offers %v and %v, the engine takes %v and %v",
			vaultv1.ConflictPolicies, vaultv1.VolumeModes, restore.ConflictPolicies, restore.VolumeModes)
	}
	if !slices.Equal(vaultv1.VolumeSources, restore.VolumeSources) {
		t.Errorf("the API offers volume sources %v, the engine takes %v", vaultv1.VolumeSources, restore.VolumeSources)
	}
	for _, m := range vaultv1.VolumeDataModes {
		if got, err := archive.ParseVolumeData(m); err != nil || got != m {
			t.Errorf("volume data mode %q of the API: %v", m, err)
		}
	}
}
