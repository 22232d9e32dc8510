package harness

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// S3 is a versitygw server on loopback with one bucket.
type S3 struct {
	Addr      string // host:port
	AccessKey string
	SecretKey string
	Bucket    string
	Region    string
	server    *Server
}

// Endpoint is the server's URL.
func (s S3) Endpoint() string { return "http://" + s.Addr }

// Pid is the server's process id.
func (s S3) Pid() int { return s.server.Pid() }

// Stop stops the server.
func (s S3) Stop() error { return s.server.Stop() }

// StartVersityGW runs the versitygw binary over dir (as internal/testenv does for the tests) on a
// free loopback port with fresh credentials, and creates bucket.
func StartVersityGW(ctx context.Context, bin, dir, bucket string) (S3, error) {
	s := S3{AccessKey: "cairn-" + RandomHex(6), SecretKey: RandomHex(20), Bucket: bucket, Region: "us-east-1"}
	return serveVersityGW(ctx, bin, dir, s, func(ctx context.Context, client *minio.Client) error {
		if err := client.MakeBucket(ctx, bucket, minio.MakeBucketOptions{Region: s.Region}); err != nil {
			return fmt.Errorf("create bucket %s at %s: %w", bucket, s.Addr, err)
		}
		return nil
	})
}

// ReopenVersityGW runs the versitygw binary over dir, which a server StartVersityGW returned
// filled, with that server's credentials, bucket and region (prior's address is not used), and
// checks that the bucket is there.
func ReopenVersityGW(ctx context.Context, bin, dir string, prior S3) (S3, error) {
	s := S3{AccessKey: prior.AccessKey, SecretKey: prior.SecretKey, Bucket: prior.Bucket, Region: prior.Region}
	return serveVersityGW(ctx, bin, dir, s, func(ctx context.Context, client *minio.Client) error {
		found, err := client.BucketExists(ctx, s.Bucket)
		if err != nil {
			return fmt.Errorf("look for bucket %s at %s: %w", s.Bucket, s.Addr, err)
		}
		if !found {
			return fmt.Errorf("bucket %s is not in %s", s.Bucket, dir)
		}
		return nil
	})
}

// serveVersityGW starts versitygw over dir with s's credentials and calls ready with a client of
// it; it fills in s's address and server.
func serveVersityGW(ctx context.Context, bin, dir string, s S3, ready func(context.Context, *minio.Client) error) (_ S3, err error) {
	buckets, versions := filepath.Join(dir, "buckets"), filepath.Join(dir, "versions")
	for _, d := range []string{buckets, versions} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return S3{}, err
		}
	}
	env := []string{"ROOT_ACCESS_KEY_ID=" + s.AccessKey, "ROOT_SECRET_ACCESS_KEY=" + s.SecretKey}
	s.server, s.Addr, err = StartServer(ctx, "versitygw", func(addr string) []string {
		return []string{bin, "--port", addr, "--quiet", "posix", "--versioning-dir", versions, buckets}
	}, env, func(resp *http.Response) error {
		if server := resp.Header.Get("Server"); !strings.EqualFold(server, "versitygw") {
			return fmt.Errorf("answered by %q, not versitygw", server)
		}
		return nil
	})
	if err != nil {
		return S3{}, err
	}
	defer func() {
		if err != nil {
			_ = s.server.Stop()
		}
	}()
	client, err := minio.New(s.Addr, &minio.Options{
		Creds: credentials.NewStaticV4(s.AccessKey, s.SecretKey, ""), Region: s.Region, BucketLookup: minio.BucketLookupPath,
	})
	if err != nil {
		return S3{}, err
	}
	cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := ready(cctx, client); err != nil {
		return S3{}, err
	}
	return s, nil
}
