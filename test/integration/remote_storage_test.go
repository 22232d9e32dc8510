//go:build integration

package integration

import (
	"fmt"
	"net/url"
	"testing"

	"github.com/cairnbackup/cairn/internal/testenv"
)

// remoteStorage is a storage location on a real server and the environment a user gives cairn
// for its credentials.
type remoteStorage struct {
	name, url string
	env       map[string]string
}

// remoteStorages starts versitygw and Azurite for t, each with a bucket or container named
// bucket, and returns a location under prefix in each, as a user writes it.
func remoteStorages(t *testing.T, bucket, prefix string) []remoteStorage {
	t.Helper()
	s3srv := testenv.StartVersityGW(t)
	s3srv.CreateBucket(t, bucket)
	az := testenv.StartAzurite(t)
	az.CreateContainer(t, bucket)
	return []remoteStorage{
		{"s3", fmt.Sprintf("s3://%s/%s?endpoint=%s&pathStyle=true", bucket, prefix, url.QueryEscape(s3srv.Endpoint)),
			map[string]string{"AWS_ACCESS_KEY_ID": s3srv.AccessKey, "AWS_SECRET_ACCESS_KEY": s3srv.SecretKey}},
		{"azblob", fmt.Sprintf("azblob://%s/%s/%s?endpoint=%s", az.Account, bucket, prefix, url.QueryEscape(az.Endpoint)),
			map[string]string{"AZURE_STORAGE_CONNECTION_STRING": az.ConnectionString}},
	}
}
