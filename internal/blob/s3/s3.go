// Package s3 is the blob.Storage backend for Amazon S3 and S3-compatible servers (s3:// URLs),
// built on minio-go. Key "a/b" is the object "PREFIX/a/b" of the configured bucket.
//
// Put streams a reader of unknown size: an object that fits in one part (16 MiB) is sent as a
// single PutObject, a larger one as a multipart upload that is aborted on any failure, so a failed
// or cancelled Put leaves no visible object. IfNotExists sends "If-None-Match: *" on the request
// that publishes the object (the PutObject, or the CompleteMultipartUpload), which S3 evaluates
// atomically; a refused write (412 PreconditionFailed) is blob.ErrAlreadyExists (in a bucket
// that may be versioned, once a HEAD has found the object: see alreadyExists).
//
// Retention periods (blob.PutOptions.RetainUntil) use S3 Object Lock in compliance mode, which
// the server enforces against every credential, and so need a bucket created with object lock
// enabled (see lock.go).
//
// Transient failures (5xx, throttling, timeouts, broken connections) are returned as
// *blob.RetryableError after minio-go's own retries; 4xx answers are permanent. Credentials never
// appear in errors or in String.
package s3

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
	"github.com/minio/minio-go/v7/pkg/s3utils"

	"github.com/cairnbackup/cairn/internal/blob"
)

var (
	_ blob.Storage = (*Storage)(nil)
	_ blob.Locker  = (*Storage)(nil)
)

const (
	// PartSize is the size of the parts of a multipart upload, and so the largest object sent
	// as a single PutObject. Put holds one part in memory.
	PartSize = 16 << 20
	// partsPerStep parts of each size are sent before the part size doubles, so that a stream
	// of unknown length can reach ~1 TiB within S3's 10,000 parts.
	partsPerStep = 2000
	maxParts     = 10000
	// firstRead is the initial read buffer; it grows up to PartSize, so small objects cost
	// little memory.
	firstRead = 32 << 10
	// abortTimeout bounds the clean-up of a failed multipart upload, which runs even when the
	// Put's context is cancelled.
	abortTimeout = time.Minute
)

// Config says where the objects live and how to reach them.
type Config struct {
	Endpoint     string // host[:port] of the S3 service, e.g. s3.amazonaws.com or 127.0.0.1:7070
	Secure       bool   // HTTPS
	Region       string
	Bucket       string
	Prefix       string // key prefix inside the bucket without leading or trailing slash; may be empty
	AccessKey    string
	SecretKey    string
	SessionToken string
	PathStyle    bool // path-style requests (http://host/bucket/key) instead of automatic choice
}

// Storage keeps objects in an S3 bucket under a prefix.
type Storage struct {
	client   *minio.Client
	core     minio.Core
	bucket   string
	prefix   string // "" or the configured prefix plus "/"
	endpoint string // scheme://host for messages

	lockMu sync.Mutex
	lock   bucketLock // what is known of the bucket's object lock configuration
}

// New connects to the service cfg names and checks that the bucket exists.
func New(ctx context.Context, cfg Config) (*Storage, error) {
	if cfg.Endpoint == "" {
		return nil, errors.New("s3 storage: no endpoint")
	}
	if err := s3utils.CheckValidBucketName(cfg.Bucket); err != nil {
		return nil, fmt.Errorf("s3 storage: bucket %q: %w", cfg.Bucket, err)
	}
	if cfg.Prefix != "" {
		if err := blob.ValidateKey(cfg.Prefix); err != nil {
			return nil, fmt.Errorf("s3 storage: prefix: %w", err)
		}
	}
	scheme := "http"
	if cfg.Secure {
		scheme = "https"
	}
	s := &Storage{bucket: cfg.Bucket, endpoint: scheme + "://" + cfg.Endpoint}
	if cfg.Prefix != "" {
		s.prefix = cfg.Prefix + "/"
	}
	lookup := minio.BucketLookupAuto
	if cfg.PathStyle {
		lookup = minio.BucketLookupPath
	}
	client, err := minio.New(cfg.Endpoint, &minio.Options{
		Creds:        credentials.NewStaticV4(cfg.AccessKey, cfg.SecretKey, cfg.SessionToken),
		Secure:       cfg.Secure,
		Region:       cfg.Region,
		BucketLookup: lookup,
	})
	if err != nil {
		return nil, fmt.Errorf("s3 storage %s at %s: %w", s, s.endpoint, err)
	}
	s.client = client
	s.core = minio.Core{Client: client}

	exists, err := client.BucketExists(ctx, cfg.Bucket)
	if err != nil {
		return nil, fmt.Errorf("s3 storage %s: check bucket %q at %s: %w", s, cfg.Bucket, s.endpoint, s.mapErr(ctx, err))
	}
	if !exists {
		return nil, fmt.Errorf("s3 storage %s: bucket %q does not exist at %s", s, cfg.Bucket, s.endpoint)
	}
	return s, nil
}

// String returns s3://bucket/prefix, or s3://bucket without a prefix.
func (s *Storage) String() string {
	if s.prefix == "" {
		return "s3://" + s.bucket
	}
	return "s3://" + s.bucket + "/" + strings.TrimSuffix(s.prefix, "/")
}

func (s *Storage) object(key string) string { return s.prefix + key }

// Put implements blob.Storage.
func (s *Storage) Put(ctx context.Context, key string, r io.Reader, opts blob.PutOptions) error {
	if err := blob.ValidateKey(key); err != nil {
		return err
	}
	if err := blob.CheckRetainUntil(key, opts.RetainUntil, time.Now()); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("put %s: %w", key, err)
	}
	lock, err := s.prepareLock(ctx, key, opts)
	if err != nil {
		return err
	}
	buf, rerr := readPart(ctx, r, make([]byte, 0, firstRead), PartSize)
	if rerr != nil && !errors.Is(rerr, io.EOF) {
		return fmt.Errorf("put %s: %w", key, rerr)
	}
	// The options of the request that publishes the object: the single PutObject, or the
	// CompleteMultipartUpload. (minio-go's own streaming PutObject would send If-None-Match
	// only with CreateMultipartUpload, where S3 ignores it, hence the explicit multipart.)
	var popts minio.PutObjectOptions
	if opts.IfNotExists {
		popts.SetMatchETagExcept("*")
	}
	if errors.Is(rerr, io.EOF) {
		popts.DisableMultipart = true
		lock.apply(&popts)
		_, err := s.client.PutObject(ctx, s.bucket, s.object(key), bytes.NewReader(buf), int64(len(buf)), popts)
		if err != nil {
			return s.putErr(ctx, key, err, opts)
		}
		return s.verifyLock(ctx, key, lock)
	}
	if err := s.putMultipart(ctx, key, r, buf, popts, opts, lock); err != nil {
		return err
	}
	return s.verifyLock(ctx, key, lock)
}

// putMultipart uploads first and the rest of r as a multipart upload, started with the object
// lock settings of lock, aborted on failure, and completes it with popts.
func (s *Storage) putMultipart(ctx context.Context, key string, r io.Reader, first []byte, popts minio.PutObjectOptions, opts blob.PutOptions, lock objectLock) (err error) {
	name := s.object(key)
	if opts.IfNotExists {
		// Advisory, to save the upload: the conditional CompleteMultipartUpload decides.
		if _, err := s.Stat(ctx, key); err == nil {
			return fmt.Errorf("put %s: %w", key, blob.ErrAlreadyExists)
		} else if !errors.Is(err, blob.ErrNotFound) {
			return fmt.Errorf("put %s: %w", key, err)
		}
	}
	var startOpts minio.PutObjectOptions
	lock.apply(&startOpts)
	uploadID, err := s.core.NewMultipartUpload(ctx, s.bucket, name, startOpts)
	if err != nil {
		if lock.set() {
			return s.putErr(ctx, key, err, opts)
		}
		return fmt.Errorf("put %s: start multipart upload: %w", key, s.mapErr(ctx, err))
	}
	defer func() {
		if err != nil {
			actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), abortTimeout)
			defer cancel()
			if aerr := s.core.AbortMultipartUpload(actx, s.bucket, name, uploadID); aerr != nil {
				err = fmt.Errorf("%w (and aborting multipart upload %s failed: %w)", err, uploadID, aerr)
			}
		}
	}()

	var parts []minio.CompletePart
	buf := first
	for n := 1; ; n++ {
		part, perr := s.core.PutObjectPart(ctx, s.bucket, name, uploadID, n, bytes.NewReader(buf), int64(len(buf)), lock.partOptions(buf))
		if perr != nil {
			return fmt.Errorf("put %s: part %d: %w", key, n, s.mapErr(ctx, perr))
		}
		parts = append(parts, minio.CompletePart{PartNumber: n, ETag: part.ETag})
		size := PartSize << (n / partsPerStep)
		var rerr error
		if buf, rerr = readPart(ctx, r, buf[:0], size); rerr != nil && !errors.Is(rerr, io.EOF) {
			return fmt.Errorf("put %s: %w", key, rerr)
		}
		if len(buf) == 0 {
			break
		}
		if n+1 > maxParts {
			return fmt.Errorf("put %s: object larger than %d parts", key, maxParts)
		}
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("put %s: %w", key, err)
	}
	if _, err := s.core.CompleteMultipartUpload(ctx, s.bucket, name, uploadID, parts, popts); err != nil {
		return s.putErr(ctx, key, err, opts)
	}
	return nil
}

// putErr maps the failure of the request that publishes an object (or, with a retention
// period, of the one that starts a multipart upload).
func (s *Storage) putErr(ctx context.Context, key string, err error, opts blob.PutOptions) error {
	if ctx.Err() == nil && !opts.RetainUntil.IsZero() {
		var er minio.ErrorResponse
		if errors.As(err, &er) && lockNotConfigured(er) {
			return s.unsupported(key, err)
		}
	}
	if ctx.Err() == nil && opts.IfNotExists {
		var er minio.ErrorResponse
		if errors.As(err, &er) {
			switch {
			case er.StatusCode == http.StatusPreconditionFailed || er.Code == "PreconditionFailed":
				return s.alreadyExists(ctx, key, err)
			case er.StatusCode == http.StatusConflict:
				// ConditionalRequestConflict: a concurrent write to the key; it exists if that
				// one won, otherwise the Put may be retried.
				if _, serr := s.Stat(ctx, key); serr == nil {
					return fmt.Errorf("put %s: %w", key, blob.ErrAlreadyExists)
				}
				return fmt.Errorf("put %s: %w", key, &blob.RetryableError{Err: err})
			}
		}
	}
	return fmt.Errorf("put %s: %w", key, s.mapErr(ctx, err))
}

// readPart appends from r to buf until it holds limit bytes, r ends (io.EOF) or fails. It checks
// ctx between reads, so a cancelled Put stops reading.
func readPart(ctx context.Context, r io.Reader, buf []byte, limit int) ([]byte, error) {
	for len(buf) < limit {
		if len(buf) == cap(buf) {
			grown := make([]byte, len(buf), min(limit, max(2*cap(buf), firstRead)))
			copy(grown, buf)
			buf = grown
		}
		n, err := r.Read(buf[len(buf):min(cap(buf), limit)])
		buf = buf[:len(buf)+n]
		if cerr := ctx.Err(); cerr != nil {
			return buf, cerr
		}
		if err == io.EOF {
			return buf, io.EOF
		}
		if err != nil {
			return buf, fmt.Errorf("read: %w", err)
		}
	}
	return buf, nil
}

// Get implements blob.Storage.
func (s *Storage) Get(ctx context.Context, key string, offset, length int64) (io.ReadCloser, error) {
	if err := blob.ValidateKey(key); err != nil {
		return nil, err
	}
	if offset < 0 || (length > 0 && offset > math.MaxInt64-length) {
		return nil, fmt.Errorf("get %s: offset %d length %d: %w", key, offset, length, blob.ErrInvalidRange)
	}
	if length == 0 {
		info, err := s.Stat(ctx, key)
		if err != nil {
			return nil, err
		}
		if offset > info.Size {
			return nil, fmt.Errorf("get %s: offset %d past size %d: %w", key, offset, info.Size, blob.ErrInvalidRange)
		}
		return io.NopCloser(bytes.NewReader(nil)), nil
	}

	var gopts minio.GetObjectOptions
	ranged := offset > 0 || length > 0
	if length > 0 {
		_ = gopts.SetRange(offset, offset+length-1)
	} else if offset > 0 {
		_ = gopts.SetRange(offset, 0)
	}
	body, info, header, err := s.core.GetObject(ctx, s.bucket, s.object(key), gopts)
	if err != nil {
		var er minio.ErrorResponse
		if ctx.Err() == nil && errors.As(err, &er) && (er.StatusCode == http.StatusRequestedRangeNotSatisfiable || er.Code == "InvalidRange") {
			// The range starts at or past the end: empty at the end, otherwise invalid.
			st, serr := s.Stat(ctx, key)
			if serr != nil {
				return nil, serr
			}
			if offset == st.Size && length < 0 {
				return io.NopCloser(bytes.NewReader(nil)), nil
			}
			return nil, fmt.Errorf("get %s: offset %d length %d past size %d: %w", key, offset, length, st.Size, blob.ErrInvalidRange)
		}
		return nil, fmt.Errorf("get %s: %w", key, s.mapErr(ctx, err))
	}

	total, partial := contentRangeTotal(header.Get("Content-Range"))
	if !partial {
		total = info.Size
	}
	if offset > total || (length > 0 && offset+length > total) {
		body.Close()
		return nil, fmt.Errorf("get %s: offset %d length %d past size %d: %w", key, offset, length, total, blob.ErrInvalidRange)
	}
	if ranged && !partial {
		// The server ignored the range and sent the whole object.
		if _, err := io.CopyN(io.Discard, body, offset); err != nil {
			body.Close()
			return nil, fmt.Errorf("get %s: %w", key, s.mapErr(ctx, err))
		}
		if length > 0 {
			return struct {
				io.Reader
				io.Closer
			}{io.LimitReader(body, length), body}, nil
		}
	}
	return body, nil
}

// contentRangeTotal returns the object size of a "bytes first-last/size" header.
func contentRangeTotal(h string) (int64, bool) {
	_, total, ok := strings.Cut(h, "/")
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseInt(total, 10, 64)
	return n, err == nil
}

// Stat implements blob.Storage.
func (s *Storage) Stat(ctx context.Context, key string) (blob.Info, error) {
	if err := blob.ValidateKey(key); err != nil {
		return blob.Info{}, err
	}
	oi, err := s.statObject(ctx, "stat", key)
	if err != nil {
		return blob.Info{}, err
	}
	return blob.Info{Key: key, Size: oi.Size, ModTime: oi.LastModified}, nil
}

// statObject is a HEAD of key; its metadata holds the object's lock settings.
func (s *Storage) statObject(ctx context.Context, op, key string) (minio.ObjectInfo, error) {
	oi, err := s.client.StatObject(ctx, s.bucket, s.object(key), minio.StatObjectOptions{})
	if err != nil {
		return minio.ObjectInfo{}, fmt.Errorf("%s %s: %w", op, key, s.mapErr(ctx, err))
	}
	return oi, nil
}

// List implements blob.Storage. Objects under the prefix whose names are not valid keys (such
// as "dir/" markers made by other tools) are skipped. A listing the server returns out of
// lexical order is an error rather than silently misordered.
func (s *Storage) List(ctx context.Context, prefix string, fn func(blob.Info) error) error {
	if err := blob.ValidatePrefix(prefix); err != nil {
		return err
	}
	lctx, cancel := context.WithCancel(ctx)
	defer cancel()
	noOwner := false
	last := ""
	for oi := range s.client.ListObjectsIter(lctx, s.bucket, minio.ListObjectsOptions{
		Prefix:     s.object(prefix),
		Recursive:  true,
		FetchOwner: &noOwner,
	}) {
		if oi.Err != nil {
			return fmt.Errorf("list %q: %w", prefix, s.mapErr(ctx, oi.Err))
		}
		key, ok := strings.CutPrefix(oi.Key, s.prefix)
		if !ok || blob.ValidateKey(key) != nil {
			continue
		}
		if key <= last && last != "" {
			return fmt.Errorf("list %q: %s returned %q after %q, out of lexical order", prefix, s.endpoint, key, last)
		}
		last = key
		if err := fn(blob.Info{Key: key, Size: oi.Size, ModTime: oi.LastModified}); err != nil {
			return err
		}
	}
	// The listing ends silently when the context is cancelled.
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("list %q: %w", prefix, err)
	}
	return nil
}

// Delete implements blob.Storage. S3 deletes of missing objects succeed, so Delete looks first;
// a key deleted by someone else between the look and the delete is not reported. The look also
// finds an object lock: in a bucket with object lock, which is versioned, a plain DELETE of a
// locked object would succeed by hiding it behind a delete marker, so Delete refuses it itself.
// After the retention period the delete marker is what Delete leaves; the data stays in the
// bucket as a noncurrent version until a lifecycle rule expires it.
func (s *Storage) Delete(ctx context.Context, key string) error {
	if err := blob.ValidateKey(key); err != nil {
		return err
	}
	oi, err := s.statObject(ctx, "delete", key)
	if err != nil {
		return err
	}
	if err := lockErr("delete", key, oi, time.Now()); err != nil {
		return err
	}
	if err := s.client.RemoveObject(ctx, s.bucket, s.object(key), minio.RemoveObjectOptions{}); err != nil {
		return fmt.Errorf("delete %s: %w", key, s.mapErr(ctx, err))
	}
	return nil
}

// retryableCodes are S3 error codes of transient conditions.
var retryableCodes = map[string]bool{
	"RequestError": true, "RequestTimeout": true, "Throttling": true, "ThrottlingException": true,
	"RequestLimitExceeded": true, "RequestThrottled": true, "InternalError": true, "SlowDown": true,
	"SlowDownWrite": true, "SlowDownRead": true, "ServiceUnavailable": true, "OperationAborted": true,
}

// mapErr turns a minio-go error into one that wraps the blob sentinels, the context's error, or
// RetryableError as appropriate.
func (s *Storage) mapErr(ctx context.Context, err error) error {
	if cerr := ctx.Err(); cerr != nil {
		return cerr
	}
	var er minio.ErrorResponse
	if errors.As(err, &er) {
		switch {
		case er.Code == "NoSuchKey" || (er.StatusCode == http.StatusNotFound && (er.Code == "" || er.Code == "NotFound")):
			return blob.ErrNotFound
		case er.Code == "NoSuchBucket":
			return fmt.Errorf("bucket %q does not exist at %s: %w", s.bucket, s.endpoint, err)
		case lockRefusal(er):
			return fmt.Errorf("%w: %w", blob.ErrLocked, err)
		case er.StatusCode >= 500 || er.StatusCode == http.StatusTooManyRequests ||
			er.StatusCode == http.StatusRequestTimeout || retryableCodes[er.Code]:
			return &blob.RetryableError{Err: err}
		}
		return err
	}
	if isTransient(err) {
		return &blob.RetryableError{Err: err}
	}
	return err
}

// isTransient reports network failures: timeouts, refused, reset or cut connections. Certificate
// and TLS handshake failures are permanent.
func isTransient(err error) bool {
	var (
		unknownAuthority x509.UnknownAuthorityError
		invalidCert      x509.CertificateInvalidError
		hostname         x509.HostnameError
		verification     *tls.CertificateVerificationError
		recordHeader     tls.RecordHeaderError
	)
	if errors.As(err, &unknownAuthority) || errors.As(err, &invalidCert) || errors.As(err, &hostname) ||
		errors.As(err, &verification) || errors.As(err, &recordHeader) {
		return false
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return true
	}
	var oe *net.OpError
	return errors.As(err, &oe) ||
		errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.ECONNREFUSED) ||
		errors.Is(err, syscall.ECONNABORTED) || errors.Is(err, syscall.EPIPE)
}

// DefaultEndpoint and DefaultRegion apply when an s3:// URL names neither.
const (
	DefaultEndpoint = "s3.amazonaws.com"
	DefaultRegion   = "us-east-1"
)

// URLParameters are the query parameters an s3:// storage URL takes.
var URLParameters = []string{"endpoint", "region", "pathStyle"}

// ParseURL reads a storage URL of the form
//
//	s3://BUCKET[/PREFIX][?endpoint=http://127.0.0.1:7070&region=us-east-1&pathStyle=true]
//
// The endpoint defaults to https://s3.amazonaws.com and the region to us-east-1. Credentials are
// never taken from the URL: they come from AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and
// AWS_SESSION_TOKEN, or else from the shared credentials file (AWS_SHARED_CREDENTIALS_FILE, by
// default $HOME/.aws/credentials), profile AWS_PROFILE or "default". getenv looks the variables

// up (os.Getenv, or a map in tests).
func ParseURL(u *url.URL, getenv func(string) string) (Config, error) {
	shown := blob.DisplayURL(u)
	if u.Scheme != "s3" {
		return Config{}, fmt.Errorf("storage URL %q is not an s3:// URL", shown)
	}
	if u.User != nil {
		return Config{}, fmt.Errorf("storage URL %q: credentials in the URL are refused (they end up in shell history and logs); set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or use a shared credentials file with AWS_PROFILE", shown)
	}
	if u.Opaque != "" || u.Host == "" {
		return Config{}, fmt.Errorf("storage URL %q names no bucket; use s3://BUCKET/optional/prefix", shown)
	}
	if u.Fragment != "" {
		return Config{}, fmt.Errorf("storage URL %q: a #fragment is not allowed", shown)
	}
	cfg := Config{Bucket: u.Host, Endpoint: DefaultEndpoint, Secure: true, Region: DefaultRegion}
	if err := s3utils.CheckValidBucketNameStrict(cfg.Bucket); err != nil {
		return Config{}, fmt.Errorf("storage URL %q: bucket %q: %w", shown, cfg.Bucket, err)
	}
	cfg.Prefix = strings.Trim(u.Path, "/")
	if cfg.Prefix != "" {
		if err := blob.ValidateKey(cfg.Prefix); err != nil {
			return Config{}, fmt.Errorf("storage URL %q: prefix: %w", shown, err)
		}
	}

	query, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return Config{}, fmt.Errorf("storage URL %q: query: %w", shown, err)
	}
	for name, values := range query {
		if len(values) != 1 {
			return Config{}, fmt.Errorf("storage URL %q: parameter %q given %d times", shown, name, len(values))
		}
		value := values[0]
		switch name {
		case "endpoint":
			e, err := url.Parse(value)
			if err != nil || (e.Scheme != "http" && e.Scheme != "https") || e.Host == "" ||
				e.User != nil || (e.Path != "" && e.Path != "/") || e.RawQuery != "" || e.Fragment != "" {
				return Config{}, fmt.Errorf("storage URL %q: endpoint must be http://HOST[:PORT] or https://HOST[:PORT]", shown)
			}
			cfg.Endpoint, cfg.Secure = e.Host, e.Scheme == "https"
		case "region":
			if value == "" {
				return Config{}, fmt.Errorf("storage URL %q: empty region", shown)
			}
			cfg.Region = value
		case "pathStyle":
			b, err := strconv.ParseBool(value)
			if err != nil {
				return Config{}, fmt.Errorf("storage URL %q: pathStyle must be true or false, not %q", shown, value)
			}
			cfg.PathStyle = b
		default:
			return Config{}, fmt.Errorf("storage URL %q: unknown parameter %q (known: %s)", shown, name, strings.Join(URLParameters, ", "))
		}
	}

	cfg.AccessKey, cfg.SecretKey, cfg.SessionToken, err = findCredentials(getenv)
	if err != nil {
		return Config{}, fmt.Errorf("storage URL %q: %w", shown, err)
	}
	return cfg, nil
}

// The environment variables that hold S3 credentials.
const (
	EnvAccessKeyID     = "AWS_ACCESS_KEY_ID"
	EnvSecretAccessKey = "AWS_SECRET_ACCESS_KEY"
	EnvSessionToken    = "AWS_SESSION_TOKEN"
)

// findCredentials reads the environment, then the shared credentials file.
func findCredentials(getenv func(string) string) (access, secret, token string, err error) {
	access, secret = getenv(EnvAccessKeyID), getenv(EnvSecretAccessKey)
	switch {
	case access != "" && secret != "":
		return access, secret, getenv(EnvSessionToken), nil
	case access != "" || secret != "":
		return "", "", "", errors.New("S3 credentials: set both AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or neither to use the shared credentials file")
	}
	file := getenv("AWS_SHARED_CREDENTIALS_FILE")
	if file == "" {
		home := getenv("HOME")
		if home == "" {
			return "", "", "", errors.New("no S3 credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or AWS_SHARED_CREDENTIALS_FILE)")
		}
		file = filepath.Join(home, ".aws", "credentials")
	}
	profile := getenv("AWS_PROFILE")
	if profile == "" {
		profile = "default"
	}
	data, err := os.ReadFile(file)
	if errors.Is(err, fs.ErrNotExist) {
		return "", "", "", fmt.Errorf("no S3 credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or write profile %q to %s", profile, file)
	}
	if err != nil {
		return "", "", "", fmt.Errorf("S3 credentials: %w", err)
	}
	values, found, err := iniSection(data, profile)
	if err != nil {
		return "", "", "", fmt.Errorf("S3 credentials file %s: %w", file, err)
	}
	if !found {
		return "", "", "", fmt.Errorf("no S3 credentials: profile %q not in %s (set AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY)", profile, file)
	}
	access, secret = values["aws_access_key_id"], values["aws_secret_access_key"]
	if access == "" || secret == "" {
		return "", "", "", fmt.Errorf("S3 credentials file %s: profile %q lacks aws_access_key_id or aws_secret_access_key", file, profile)
	}
	return access, secret, values["aws_session_token"], nil
}

// iniSection returns the key = value pairs of [section] in an INI file (keys lower-cased;
// # and ; start comment lines). Errors name line numbers, never values.
func iniSection(data []byte, section string) (map[string]string, bool, error) {
	values := map[string]string{}
	found, in := false, false
	for i, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		switch {
		case line == "" || line[0] == '#' || line[0] == ';':
			continue
		case line[0] == '[':
			if !strings.HasSuffix(line, "]") {
				return nil, false, fmt.Errorf("line %d: malformed section header", i+1)
			}
			in = strings.TrimSpace(line[1:len(line)-1]) == section
			found = found || in
			continue
		}
		if !in {
			continue
		}
		name, value, ok := strings.Cut(line, "=")
		if !ok {
			return nil, false, fmt.Errorf("line %d: expected name = value", i+1)
		}
		values[strings.ToLower(strings.TrimSpace(name))] = strings.TrimSpace(value)
	}
	return values, found, nil
}
