// Package azure is the blob.Storage backend for Azure Blob Storage (azblob:// URLs) and for
// servers that speak its API, such as the Azurite emulator. Key "a/b" of a store with prefix
// "p" is the block blob "p/a/b" of the configured container.
//
// Objects are uploaded as block blobs: the data is staged in blocks of 8 MiB that stay invisible
// until a final commit (or, for objects smaller than one block, sent in a single request), so a
// failed or cancelled Put leaves no visible object and an overwrite that fails leaves the old
// one intact. Put with IfNotExists sends If-None-Match: * with that final request, which the
// service evaluates atomically.
//
// Retention periods (blob.PutOptions.RetainUntil) are blob-level immutability policies, which
// need a container with version-level immutability support; see lock.go.
//
// The SDK's own retries are turned off: transient failures are returned at once, marked with
// blob.RetryableError, for cairn's retry decorator to handle.
package azure

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	azblobblob "github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/bloberror"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blockblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"

	"github.com/cairnbackup/cairn/internal/blob"
)

var (
	_ blob.Storage = (*Storage)(nil)
	_ blob.Locker  = (*Storage)(nil)
)

const (
	// blockSize is the size of the blocks Put stages; each Put holds up to uploadConcurrency
	// of them in memory.
	blockSize         = 8 << 20
	uploadConcurrency = 2
)

// Config says which container to use and how to authenticate. Exactly one of ConnectionString,
// AccountKey and SASToken must be set.
type Config struct {
	// Account is the storage account. With a ConnectionString it may be empty (the connection
	// string names the account); when set, it must match the connection string's.
	Account string
	// Container must exist already; New does not create it.
	Container string
	// Prefix, if not empty, is prepended with a slash to every key, so several stores can share
	// one container. It must obey the rules of blob.ValidateKey.
	Prefix string
	// Endpoint is the blob service URL, such as http://127.0.0.1:10000/devstoreaccount1 for
	// Azurite. Empty means https://ACCOUNT.blob.core.windows.net, or the connection string's.
	Endpoint string

	// ConnectionString is an Azure Storage connection string (it holds the account, the
	// endpoint and an account key or a SAS token).
	ConnectionString string
	// AccountKey is the base64 shared key of Account.
	AccountKey string
	// SASToken is a shared access signature, with or without the leading "?".
	SASToken string
}

// The environment variables ParseURL takes credentials from, in order of precedence.
const (
	EnvConnectionString = "AZURE_STORAGE_CONNECTION_STRING"
	EnvAccountKey       = "AZURE_STORAGE_KEY"
	EnvSASToken         = "AZURE_STORAGE_SAS_TOKEN"
)

// Scheme is the URL scheme of this backend.
const Scheme = "azblob"

// URLParameters are the query parameters an azblob:// storage URL takes.
var URLParameters = []string{"endpoint"}

// ParseURL reads a storage URL of the form
//
//	azblob://ACCOUNT/CONTAINER[/PREFIX][?endpoint=http://127.0.0.1:10000/devstoreaccount1]
//
// The credentials come from the environment, through getenv, never from the URL:
// AZURE_STORAGE_CONNECTION_STRING, else AZURE_STORAGE_KEY (the shared key of ACCOUNT), else

// AZURE_STORAGE_SAS_TOKEN. Errors show the URL without its query and user information.
func ParseURL(u *url.URL, getenv func(string) string) (Config, error) {
	shown := blob.DisplayURL(u)
	useEnv := fmt.Sprintf("put credentials in the environment instead: %s, %s or %s",
		EnvConnectionString, EnvAccountKey, EnvSASToken)
	example := "use azblob://ACCOUNT/CONTAINER/optional/prefix"
	if u.Scheme != Scheme {
		return Config{}, fmt.Errorf("storage URL %q: scheme is not %s://", shown, Scheme)
	}
	if u.User != nil {
		return Config{}, fmt.Errorf("storage URL %q must not hold credentials: %s", shown, useEnv)
	}
	if u.Opaque != "" || u.Host == "" {
		return Config{}, fmt.Errorf("storage URL %q names no storage account: %s", shown, example)
	}
	if u.Fragment != "" {
		return Config{}, fmt.Errorf("storage URL %q: a fragment (#...) is not allowed", shown)
	}
	query, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		// The parse error would repeat part of the query, which may be a secret.
		return Config{}, fmt.Errorf("storage URL %q: malformed query", shown)
	}
	if hasSAS(query) {
		return Config{}, fmt.Errorf("storage URL %q must not hold a SAS token: %s", shown, useEnv)
	}
	for name := range query {
		if !slices.Contains(URLParameters, name) {
			return Config{}, fmt.Errorf("storage URL %q: unknown query parameter %q (only endpoint=URL is supported)", shown, name)
		}
	}

	cfg := Config{Account: u.Host}
	if err := validateAccount(cfg.Account); err != nil {
		return Config{}, fmt.Errorf("storage URL %q: %w", shown, err)
	}
	path := strings.Trim(u.Path, "/")
	cfg.Container, cfg.Prefix, _ = strings.Cut(path, "/")
	if cfg.Container == "" {
		return Config{}, fmt.Errorf("storage URL %q names no container: %s", shown, example)
	}
	if err := validateContainer(cfg.Container); err != nil {
		return Config{}, fmt.Errorf("storage URL %q: %w", shown, err)
	}
	if cfg.Prefix != "" {
		if err := blob.ValidateKey(cfg.Prefix); err != nil {
			return Config{}, fmt.Errorf("storage URL %q: prefix: %w", shown, err)
		}
	}

	if vals, ok := query["endpoint"]; ok {
		if len(vals) != 1 || vals[0] == "" {
			return Config{}, fmt.Errorf("storage URL %q: endpoint= needs exactly one URL, like endpoint=http://127.0.0.1:10000/devstoreaccount1", shown)
		}
		ep, err := url.Parse(vals[0])
		if err != nil || (ep.Scheme != "http" && ep.Scheme != "https") || ep.Host == "" {
			return Config{}, fmt.Errorf("storage URL %q: endpoint is not an http:// or https:// URL, like endpoint=http://127.0.0.1:10000/devstoreaccount1", shown)
		}
		if ep.User != nil || ep.RawQuery != "" || ep.Fragment != "" {
			return Config{}, fmt.Errorf("storage URL %q: endpoint must be a plain URL without credentials or query: %s", shown, useEnv)
		}
		cfg.Endpoint = strings.TrimSuffix(ep.String(), "/")
	}

	switch {
	case getenv(EnvConnectionString) != "":
		cfg.ConnectionString = getenv(EnvConnectionString)
	case getenv(EnvAccountKey) != "":
		cfg.AccountKey = getenv(EnvAccountKey)
	case getenv(EnvSASToken) != "":
		cfg.SASToken = getenv(EnvSASToken)
	default:
		return Config{}, fmt.Errorf("storage URL %q: no Azure credentials: set %s, %s (the shared key of account %q) or %s",
			shown, EnvConnectionString, EnvAccountKey, cfg.Account, EnvSASToken)
	}
	return cfg, nil
}

// hasSAS reports whether a query carries a shared access signature, or parts of one.
func hasSAS(q url.Values) bool {
	for name := range q {
		switch strings.ToLower(name) {
		case "sig", "sv", "se", "sp", "ss", "srt", "sr", "st", "spr", "skoid", "sktid":
			return true
		}
	}
	return false
}

// validateAccount checks the Azure storage account naming rules: lowercase letters and digits.
func validateAccount(account string) error {
	if account == "" {
		return errors.New("no storage account")
	}
	if len(account) > 64 {
		return fmt.Errorf("storage account name %q is too long", account)
	}
	for _, c := range account {
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') {
			return fmt.Errorf("storage account name %q: only lowercase letters and digits are allowed", account)
		}
	}
	return nil
}

// validateContainer checks the Azure container naming rules: 3 to 63 lowercase letters, digits
// and hyphens, starting and ending with a letter or digit, no two hyphens in a row.
func validateContainer(name string) error {
	if len(name) < 3 || len(name) > 63 {
		return fmt.Errorf("container name %q must be 3 to 63 characters long", name)
	}
	for i, c := range name {
		switch {
		case 'a' <= c && c <= 'z', '0' <= c && c <= '9':
		case c == '-' && i > 0 && i < len(name)-1 && name[i-1] != '-':
		default:
			return fmt.Errorf("container name %q: use lowercase letters, digits and single hyphens, starting and ending with a letter or digit", name)
		}
	}
	return nil
}

// Storage keeps objects as block blobs in one container.
type Storage struct {
	client    *container.Client
	account   string
	container string
	prefix    string // "" or ending in "/"

	immutMu sync.Mutex
	immut   immutability // what is known of the container's immutability support
}

// New connects to the container cfg names and checks that it exists and that the credentials
// can list it. Errors name the account and container, never the credentials.
func New(ctx context.Context, cfg Config) (*Storage, error) {
	where := fmt.Sprintf("azure storage account %q container %q", cfg.Account, cfg.Container)
	if cfg.Container == "" {
		return nil, fmt.Errorf("azure storage account %q: no container", cfg.Account)
	}
	if err := validateContainer(cfg.Container); err != nil {
		return nil, fmt.Errorf("%s: %w", where, err)
	}
	prefix := strings.Trim(cfg.Prefix, "/")
	if prefix != "" {
		if err := blob.ValidateKey(prefix); err != nil {
			return nil, fmt.Errorf("%s: prefix: %w", where, err)
		}
		prefix += "/"
	}
	creds := 0
	for _, c := range []string{cfg.ConnectionString, cfg.AccountKey, cfg.SASToken} {
		if c != "" {
			creds++
		}
	}
	if creds != 1 {
		return nil, fmt.Errorf("%s: set exactly one of a connection string, an account key and a SAS token (%d set)", where, creds)
	}

	opts := &container.ClientOptions{ClientOptions: azcore.ClientOptions{
		// One try per request: cairn's retry decorator retries what is marked retryable.
		Retry:           policy.RetryOptions{MaxRetries: -1},
		PerCallPolicies: []policy.Policy{stopUploadPolicy{}},
	}}
	s := &Storage{account: cfg.Account, container: cfg.Container, prefix: prefix}
	var err error
	if cfg.ConnectionString != "" {
		s.client, err = container.NewClientFromConnectionString(cfg.ConnectionString, cfg.Container, opts)
		if err != nil {
			// The SDK's messages about connection strings never quote them.
			return nil, fmt.Errorf("%s: connection string: %w", where, err)
		}
		if err := s.checkConnectionString(cfg); err != nil {
			return nil, fmt.Errorf("%s: %w", where, err)
		}
	} else {
		if err := validateAccount(cfg.Account); err != nil {
			return nil, fmt.Errorf("%s: %w", where, err)
		}
		endpoint := strings.TrimSuffix(cfg.Endpoint, "/")
		if endpoint == "" {
			endpoint = "https://" + cfg.Account + ".blob.core.windows.net"
		}
		if ep, err := url.Parse(endpoint); err != nil || (ep.Scheme != "http" && ep.Scheme != "https") || ep.Host == "" || ep.RawQuery != "" || ep.User != nil {
			return nil, fmt.Errorf("%s: endpoint must be a plain http:// or https:// URL", where)
		}
		containerURL := endpoint + "/" + cfg.Container
		if cfg.AccountKey != "" {
			cred, err := azblob.NewSharedKeyCredential(cfg.Account, cfg.AccountKey)
			if err != nil {
				// Only says the key is not valid base64, without repeating it.
				return nil, fmt.Errorf("%s: account key: %w", where, err)
			}
			s.client, err = container.NewClientWithSharedKeyCredential(containerURL, cred, opts)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", where, err)
			}
		} else {
			s.client, err = container.NewClientWithNoCredential(containerURL+"?"+strings.TrimPrefix(cfg.SASToken, "?"), opts)
			if err != nil {
				return nil, fmt.Errorf("%s: SAS token: invalid", where)
			}
		}
	}

	where = fmt.Sprintf("azure storage account %q container %q", s.account, s.container)
	// Listing (rather than reading the container's properties) works with every credential a
	// backup needs anyway, including a container-scoped SAS token.
	pager := s.client.NewListBlobsFlatPager(&container.ListBlobsFlatOptions{Prefix: &s.prefix, MaxResults: ptr(int32(1))})
	if _, err := pager.NextPage(ctx); err != nil {
		var re *azcore.ResponseError
		switch {
		case bloberror.HasCode(err, bloberror.ContainerNotFound):
			return nil, fmt.Errorf("%s: the container does not exist (create it first)", where)
		case bloberror.HasCode(err, bloberror.ResourceNotFound), errors.As(err, &re) && re.StatusCode == http.StatusNotFound:
			return nil, fmt.Errorf("%s: not found: check the account name and the endpoint", where)
		case errors.As(err, &re) && re.StatusCode == http.StatusForbidden:
			return nil, fmt.Errorf("%s: access denied, check the credentials (%w)", where, mapErr(err))
		}
		return nil, fmt.Errorf("%s: %w", where, mapErr(err))
	}
	return s, nil
}

// checkConnectionString makes sure a connection string and the rest of cfg agree on the
// account and the endpoint, and fills in the account when cfg leaves it out.
func (s *Storage) checkConnectionString(cfg Config) error {
	// The container URL may carry the connection string's SAS token: never show it.
	cu, err := url.Parse(s.client.URL())
	if err != nil {
		return errors.New("connection string: invalid blob endpoint")
	}
	cu.RawQuery = ""
	serviceURL := strings.TrimSuffix(strings.TrimSuffix(cu.String(), "/"), "/"+cfg.Container)
	account := ""
	if parts, err := azblob.ParseURL(cu.String()); err == nil && parts.IPEndpointStyleInfo.AccountName != "" {
		account = parts.IPEndpointStyleInfo.AccountName
	} else if name, _, ok := strings.Cut(cu.Hostname(), ".blob."); ok {
		account = name
	}
	if cfg.Account != "" && account != "" && account != cfg.Account {
		return fmt.Errorf("the connection string is for account %q, not %q", account, cfg.Account)
	}
	if cfg.Endpoint != "" && !sameURL(cfg.Endpoint, serviceURL) {
		return fmt.Errorf("endpoint %s differs from the connection string's %s; leave the endpoint out", cfg.Endpoint, serviceURL)
	}
	if s.account == "" {
		s.account = account
	}
	return nil
}

func sameURL(a, b string) bool {
	ua, errA := url.Parse(strings.TrimSuffix(a, "/"))
	ub, errB := url.Parse(strings.TrimSuffix(b, "/"))
	return errA == nil && errB == nil && strings.EqualFold(ua.Scheme, ub.Scheme) &&
		strings.EqualFold(ua.Host, ub.Host) && ua.Path == ub.Path
}

func ptr[T any](v T) *T { return &v }

// String returns azblob://ACCOUNT/CONTAINER[/PREFIX].
func (s *Storage) String() string {
	u := Scheme + "://" + s.account + "/" + s.container
	if s.prefix != "" {
		u += "/" + strings.TrimSuffix(s.prefix, "/")
	}
	return u
}

func (s *Storage) blobClient(key string) *blockblob.Client {
	return s.client.NewBlockBlobClient(s.prefix + key)
}

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
	if err := s.prepareLock(ctx, key, opts); err != nil {
		return err
	}
	// UploadStream reads r without looking at the context and, after a failed request, goes on
	// reading (and discarding) r to its end. src stops reading once uploadCtx is done: when ctx
	// is, or when stopUploadPolicy sees a request of this upload fail.
	uploadCtx, stop := context.WithCancelCause(ctx)
	defer stop(nil)
	src := &uploadReader{ctx: uploadCtx, r: r}
	uopts := &blockblob.UploadStreamOptions{BlockSize: blockSize, Concurrency: uploadConcurrency}
	if opts.IfNotExists {
		etagAny := azcore.ETagAny
		uopts.AccessConditions = &azblobblob.AccessConditions{
			ModifiedAccessConditions: &azblobblob.ModifiedAccessConditions{IfNoneMatch: &etagAny},
		}
	}
	_, err := s.blobClient(key).UploadStream(context.WithValue(uploadCtx, stopUploadKey{}, stop), src, uopts)
	if err == nil {
		if !opts.RetainUntil.IsZero() {
			return s.lock(ctx, key, opts.RetainUntil)
		}
		return nil
	}
	if srcErr := src.sourceErr(); srcErr != nil && errors.Is(err, srcErr) {
		return fmt.Errorf("put %s: reading the data: %w", key, err) // the caller's, never retryable
	}
	if opts.IfNotExists && (bloberror.HasCode(err, bloberror.BlobAlreadyExists) || hasStatus(err, http.StatusPreconditionFailed)) {
		return fmt.Errorf("put %s: %w", key, blob.ErrAlreadyExists)
	}
	if isLockRefusal(err) {
		return fmt.Errorf("put %s: %w: %w", key, blob.ErrLocked, mapErr(err))
	}
	return fmt.Errorf("put %s: %w", key, mapErr(err))
}

// uploadReader reads from r until ctx is done, then returns the cause. Its first error sticks:
// the SDK drops an error that comes with the last bytes of a full block.
type uploadReader struct {
	ctx context.Context
	r   io.Reader

	mu     sync.Mutex
	srcErr error // a failure of r itself (not io.EOF)
	err    error
}

func (u *uploadReader) Read(p []byte) (int, error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.err != nil {
		return 0, u.err
	}
	if u.ctx.Err() != nil {
		u.err = context.Cause(u.ctx)
		return 0, u.err
	}
	n, err := u.r.Read(p)
	if err != nil {
		u.err = err
		if err != io.EOF {
			u.srcErr = err
		}
	}
	return n, err
}

func (u *uploadReader) sourceErr() error {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.srcErr
}

// stopUploadKey marks, in the context of a Put's requests, the function that stops that Put's
// uploadReader.
type stopUploadKey struct{}

// stopUploadPolicy stops a Put's reading of the caller's data as soon as one of its requests
// fails, with that failure as the cause, which UploadStream then returns.
type stopUploadPolicy struct{}

func (stopUploadPolicy) Do(req *policy.Request) (*http.Response, error) {
	resp, err := req.Next()
	if stop, ok := req.Raw().Context().Value(stopUploadKey{}).(context.CancelCauseFunc); ok {
		switch {
		case err != nil:
			stop(err)
		case resp.StatusCode >= 400:
			stop(runtime.NewResponseError(resp)) // caches the body, so the SDK can read it again
		}
	}
	return resp, err
}

// Get implements blob.Storage. It asks for the range at once and learns the object's size from
// the response; only a range at or past the end, or a zero length, costs a Stat.
func (s *Storage) Get(ctx context.Context, key string, offset, length int64) (io.ReadCloser, error) {
	if err := blob.ValidateKey(key); err != nil {
		return nil, err
	}
	if offset < 0 {
		return nil, fmt.Errorf("get %s: offset %d: %w", key, offset, blob.ErrInvalidRange)
	}
	if length == 0 {
		return s.emptyRange(ctx, key, offset, length)
	}
	rng := azblobblob.HTTPRange{Offset: offset}
	if length > 0 {
		rng.Count = length
	}
	resp, err := s.blobClient(key).DownloadStream(ctx, &azblobblob.DownloadStreamOptions{Range: rng})
	if err != nil {
		if hasStatus(err, http.StatusRequestedRangeNotSatisfiable) || bloberror.HasCode(err, bloberror.InvalidRange) {
			return s.emptyRange(ctx, key, offset, length)
		}
		return nil, s.keyErr("get", key, err)
	}
	if length > 0 {
		// The service shortens a range that runs past the end instead of refusing it.
		size, ok := totalSize(resp.ContentRange)
		if !ok && offset == 0 && resp.ContentLength != nil {
			size, ok = *resp.ContentLength, true
		}
		if !ok {
			resp.Body.Close()
			return nil, fmt.Errorf("get %s: the response to a range request has no Content-Range", key)
		}
		if length > size-offset {
			resp.Body.Close()
			return nil, fmt.Errorf("get %s: offset %d length %d of %d bytes: %w", key, offset, length, size, blob.ErrInvalidRange)
		}
	}
	return &bodyReader{body: resp.Body}, nil
}

// emptyRange answers a Get that returns no bytes, if the range is valid for the object's size.
func (s *Storage) emptyRange(ctx context.Context, key string, offset, length int64) (io.ReadCloser, error) {
	info, err := s.stat(ctx, "get", key)
	if err != nil {
		return nil, err
	}
	if offset > info.Size || length > 0 && length > info.Size-offset {
		return nil, fmt.Errorf("get %s: offset %d length %d of %d bytes: %w", key, offset, length, info.Size, blob.ErrInvalidRange)
	}
	if offset < info.Size && length != 0 {
		// The object grew between the request and the Stat: let the caller try again.
		return nil, fmt.Errorf("get %s: %w", key, &blob.RetryableError{Err: errors.New("the object changed while being read")})
	}
	return io.NopCloser(strings.NewReader("")), nil
}

// totalSize reads the size of the whole object from a Content-Range of "bytes A-B/SIZE".
func totalSize(contentRange *string) (int64, bool) {
	if contentRange == nil {
		return 0, false
	}
	_, total, ok := strings.Cut(*contentRange, "/")
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseInt(total, 10, 64)
	return n, err == nil
}

// bodyReader marks failures to read a downloaded body (a connection reset) as retryable.
type bodyReader struct {
	body io.ReadCloser
}

func (b *bodyReader) Read(p []byte) (int, error) {
	n, err := b.body.Read(p)
	if err != nil && !errors.Is(err, io.EOF) {
		err = mapErr(err)
	}
	return n, err
}

func (b *bodyReader) Close() error { return b.body.Close() }

// Stat implements blob.Storage.
func (s *Storage) Stat(ctx context.Context, key string) (blob.Info, error) {
	if err := blob.ValidateKey(key); err != nil {
		return blob.Info{}, err
	}
	return s.stat(ctx, "stat", key)
}

func (s *Storage) stat(ctx context.Context, op, key string) (blob.Info, error) {
	props, err := s.blobClient(key).GetProperties(ctx, nil)
	if err != nil {
		return blob.Info{}, s.keyErr(op, key, err)
	}
	info := blob.Info{Key: key}
	if props.ContentLength != nil {
		info.Size = *props.ContentLength
	}
	if props.LastModified != nil {
		info.ModTime = *props.LastModified
	}
	return info, nil
}

// List implements blob.Storage. The service lists blob names in byte order, which for the key
// alphabet is lexical key order. Blobs under the prefix whose names are not valid keys are
// skipped.
func (s *Storage) List(ctx context.Context, prefix string, fn func(blob.Info) error) error {
	if err := blob.ValidatePrefix(prefix); err != nil {
		return err
	}
	full := s.prefix + prefix
	pager := s.client.NewListBlobsFlatPager(&container.ListBlobsFlatOptions{Prefix: &full})
	last := ""
	for pager.More() {
		page, err := pager.NextPage(ctx)
		if err != nil {
			return fmt.Errorf("list %q in %s: %w", prefix, s, mapErr(err))
		}
		for _, item := range page.Segment.BlobItems {
			if item == nil || item.Name == nil {
				continue
			}
			key, ok := strings.CutPrefix(*item.Name, s.prefix)
			if !ok || blob.ValidateKey(key) != nil {
				continue
			}
			if key <= last && last != "" {
				return fmt.Errorf("list %q in %s: the service returned %q after %q, out of order", prefix, s, key, last)
			}
			last = key
			info := blob.Info{Key: key}
			if p := item.Properties; p != nil {
				if p.ContentLength != nil {
					info.Size = *p.ContentLength
				}
				if p.LastModified != nil {
					info.ModTime = *p.LastModified
				}
			}
			if err := fn(info); err != nil {
				return err
			}
		}
	}
	return nil
}

// Delete implements blob.Storage. In a container that has (or may have) immutability support it
// looks at the blob first and refuses to delete one under a policy (see lock.go).
func (s *Storage) Delete(ctx context.Context, key string) error {
	if err := blob.ValidateKey(key); err != nil {
		return err
	}
	state, err := s.containerImmutability(ctx)
	if err != nil {
		return fmt.Errorf("delete %s: %w", key, err)
	}
	if state != immutDisabled {
		if err := s.checkUnlocked(ctx, "delete", key); err != nil {
			return err
		}
	}
	if _, err := s.blobClient(key).Delete(ctx, nil); err != nil {
		return s.keyErr("delete", key, err)
	}
	return nil
}

// keyErr describes a failed operation on key, mapping a missing blob to blob.ErrNotFound.
func (s *Storage) keyErr(op, key string, err error) error {
	var re *azcore.ResponseError
	switch {
	case bloberror.HasCode(err, bloberror.BlobNotFound):
		return fmt.Errorf("%s %s: %w", op, key, blob.ErrNotFound)
	case bloberror.HasCode(err, bloberror.ContainerNotFound):
		return fmt.Errorf("%s %s: container %q of account %q does not exist: %w", op, key, s.container, s.account, mapErr(err))
	case isLockRefusal(err):
		return fmt.Errorf("%s %s: %w: %w", op, key, blob.ErrLocked, mapErr(err))
	case errors.As(err, &re) && re.StatusCode == http.StatusNotFound && re.ErrorCode == "":
		// A HEAD response has no body, and some servers send no error code header either.
		return fmt.Errorf("%s %s: %w", op, key, blob.ErrNotFound)
	}
	return fmt.Errorf("%s %s: %w", op, key, mapErr(err))
}

func hasStatus(err error, status int) bool {
	var re *azcore.ResponseError
	return errors.As(err, &re) && re.StatusCode == status
}

// responseError is a service's error response, shown in one line.
type responseError struct {
	err *azcore.ResponseError
}

func (e *responseError) Error() string {
	msg := "azure: HTTP " + strconv.Itoa(e.err.StatusCode)
	if e.err.ErrorCode != "" {
		msg += " " + e.err.ErrorCode
	} else if e.err.RawResponse != nil {
		msg += " " + http.StatusText(e.err.StatusCode)
	}
	return msg
}

func (e *responseError) Unwrap() error { return e.err }

// mapErr shortens an SDK error, removes any SAS token from it and marks transient failures
// (server errors, throttling, broken connections) with blob.RetryableError.
func mapErr(err error) error {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	var re *azcore.ResponseError
	if errors.As(err, &re) {
		short := &responseError{err: re}
		switch s := re.StatusCode; {
		case s >= 500, s == http.StatusRequestTimeout, s == http.StatusTooManyRequests:
			return &blob.RetryableError{Err: short}
		}
		return short
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		// The request URL may carry a SAS token.
		shown := ue.URL
		if u, perr := url.Parse(ue.URL); perr == nil {
			shown = blob.DisplayURL(u)
		} else {
			shown, _, _ = strings.Cut(shown, "?")
		}
		return &blob.RetryableError{Err: &url.Error{Op: ue.Op, URL: shown, Err: ue.Err}}
	}
	var ne net.Error
	if errors.As(err, &ne) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.EPIPE) {
		return &blob.RetryableError{Err: err}
	}
	return err
}
