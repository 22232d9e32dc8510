package api

import (
	"net/http"
	"testing"

	"github.com/cairnbackup/cairn/internal/vault/jobs"
	"github.com/cairnbackup/cairn/internal/vault/store"
)

var validationMatrixCalls = map[string]matrixCall{
	"POST /api/v1/instances/{name}/validate": func(t *testing.T, f *fixture, token, u string) (*http.Request, func(*testing.T, bool)) {
		name := "val-" + u
		f.instance(t, name)
		return newRequest(t, "POST", "/api/v1/instances/"+name+"/validate", token, ""), func(t *testing.T, allowed bool) {
			list, err := f.st.ListJobs(t.Context(), "prod", store.JobFilter{Instance: name, Kind: string(jobs.KindValidate)}, store.Page{})
			if err != nil || allowed != (len(list.Items) == 1) {
				t.Errorf("allowed %v, jobs %+v %v", allowed, list, err)
			}
		}
	},
}

func init() {
	validationMatrixCalls["POST /api/v1/instances/{name}/test-restore"] = func(t *testing.T, f *fixture, token, u string) (*http.Request, func(*testing.T, bool)) {
		name := "tr-" + u
		f.recoveryPoint(t, name)
		return newRequest(t, "POST", "/api/v1/instances/"+name+"/test-restore", token, ""), func(t *testing.T, allowed bool) {
			list, err := f.st.ListJobs(t.Context(), "prod", store.JobFilter{Instance: name, Kind: string(jobs.KindTestRestore)}, store.Page{})
			if err != nil || allowed != (len(list.Items) == 1) {
				t.Errorf("allowed %v, jobs %+v %v", allowed, list, err)
			}
		}
	}
}
