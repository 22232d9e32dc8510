package s3

import (
	"context"
	"crypto/md5" // Content-MD5 is what S3 asks of uploads to locked objects
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/cairnbackup/cairn/internal/blob"
)

// Object lock, as this backend uses it:
//
//   - A Put with a retention period sends it in compliance mode with the upload, so the object
//     is never visible unlocked, and no credential (the root account's included) can delete the
//     locked version or shorten its retention. The bucket must have object lock enabled, which
//     is asked of it once per Storage (s3:GetBucketObjectLockConfiguration); a bucket without
//     it fails the Put with blob.ErrRetentionUnsupported before anything is sent.
//   - A bucket with object lock is versioned, so S3 lets a plain PUT or DELETE of a locked key
//     through: the PUT adds a new current version, the DELETE a delete marker, and the locked
//     version lives on, hidden. Put and Delete therefore look at the current version (a HEAD)
//     and refuse with blob.ErrLocked while its retention period lasts. The look and the write
//     are two requests, but a write that slips between them still leaves the locked version on
//     the server.
//   - The period is compared with this machine's clock: a clock running ahead lets Delete add a
//     delete marker early, which hides the object but cannot destroy it.

const (
	headerLockMode  = "X-Amz-Object-Lock-Mode"
	headerLockUntil = "X-Amz-Object-Lock-Retain-Until-Date"
	headerLegalHold = "X-Amz-Object-Lock-Legal-Hold"
)

// bucketLock is what is known of the bucket's object lock configuration.
type bucketLock int

const (
	lockUnasked    bucketLock = iota
	lockEnabled               // object lock is enabled
	lockDisabled              // no object lock, or a server without it
	lockUnreadable            // the configuration cannot be read, e.g. for lack of permission
)

// bucketLockState asks for the bucket's object lock configuration once; a transient failure is
// returned and not remembered.
func (s *Storage) bucketLockState(ctx context.Context) (bucketLock, error) {
	s.lockMu.Lock()
	state := s.lock
	s.lockMu.Unlock()
	if state != lockUnasked {
		return state, nil
	}
	enabled, _, _, _, err := s.client.GetObjectLockConfig(ctx, s.bucket)
	var er minio.ErrorResponse
	switch {
	case err == nil && enabled == "Enabled":
		state = lockEnabled
	case err == nil:
		state = lockDisabled
	case errors.As(err, &er) && (er.Code == "ObjectLockConfigurationNotFoundError" ||
		er.Code == "NotImplemented" || er.StatusCode == http.StatusNotImplemented):
		state = lockDisabled
	default:
		if mapped := s.mapErr(ctx, err); ctx.Err() != nil || blob.IsRetryable(mapped) {
			return lockUnasked, mapped
		}
		state = lockUnreadable
	}
	s.lockMu.Lock()
	s.lock = state
	s.lockMu.Unlock()
	return state, nil
}

// objectLock is the retention period a Put sets; the zero value sets none.
type objectLock struct {
	until time.Time // in whole seconds: S3 dates have no fraction
	// verify: the bucket's configuration could not be read, so check that the lock took.
	verify bool
}

func (l objectLock) set() bool { return !l.until.IsZero() }

// apply adds the lock to the options of the request that creates the object.
func (l objectLock) apply(o *minio.PutObjectOptions) {
	if l.set() {
		o.Mode = minio.Compliance
		o.RetainUntilDate = l.until
		o.SendContentMd5 = true // S3 refuses uploads of locked objects without an integrity check
	}
}

// partOptions are the options of a part of a locked multipart upload: with Content-MD5, for
// the same reason.
func (l objectLock) partOptions(data []byte) minio.PutObjectPartOptions {
	if !l.set() {
		return minio.PutObjectPartOptions{}
	}
	sum := md5.Sum(data)
	return minio.PutObjectPartOptions{Md5Base64: base64.StdEncoding.EncodeToString(sum[:])}
}

// prepareLock runs before a Put sends anything: it checks that the bucket can keep the
// retention period opts asks for, and that the Put does not overwrite a locked object. It
// returns the lock the upload sets.
func (s *Storage) prepareLock(ctx context.Context, key string, opts blob.PutOptions) (objectLock, error) {
	var lock objectLock
	if opts.RetainUntil.IsZero() && opts.IfNotExists {
		return lock, nil // it cannot overwrite anything
	}
	state, err := s.bucketLockState(ctx)
	if !opts.RetainUntil.IsZero() {
		if err != nil {
			return lock, fmt.Errorf("put %s: read the object lock configuration of bucket %q: %w", key, s.bucket, err)
		}
		if state == lockDisabled {
			return lock, s.unsupported(key, nil)
		}
		lock = objectLock{until: blob.RoundUpToSecond(opts.RetainUntil), verify: state == lockUnreadable}
	}
	// Without the configuration, assume the bucket may hold locked objects.
	if !opts.IfNotExists && state != lockDisabled {
		oi, err := s.statObject(ctx, "put", key)
		switch {
		case errors.Is(err, blob.ErrNotFound):
		case err != nil:
			return lock, err
		default:
			if err := lockErr("put", key, oi, time.Now()); err != nil {
				return lock, err
			}
		}
	}
	return lock, nil
}

// verifyLock checks, when the bucket's configuration could not be read, that the object just
// put is locked: a server that ignores the lock settings must not pass for one that keeps
// them. The unlocked object is deleted again.
func (s *Storage) verifyLock(ctx context.Context, key string, lock objectLock) error {
	if !lock.verify {
		return nil
	}
	oi, err := s.statObject(ctx, "put", key)
	if err != nil {
		return err
	}
	until, err := retention(oi, time.Now())
	if err != nil {
		return fmt.Errorf("put %s: %w", key, err)
	}
	if !until.IsZero() {
		return nil
	}
	if rerr := s.client.RemoveObject(ctx, s.bucket, s.object(key), minio.RemoveObjectOptions{}); rerr != nil {
		return fmt.Errorf("%w (and removing the unlocked object failed: %w)",
			s.unsupported(key, errors.New("the object was stored without its retention period")), s.mapErr(ctx, rerr))
	}
	return s.unsupported(key, errors.New("the object was stored without its retention period"))
}

// unsupported is the error of a Put asking for a retention period the bucket cannot keep.
func (s *Storage) unsupported(key string, cause error) error {
	err := fmt.Errorf("put %s: bucket %q at %s has no object lock; to lock recovery points, create the bucket with object lock enabled (e.g. aws s3api create-bucket --object-lock-enabled-for-bucket): %w",
		key, s.bucket, s.endpoint, blob.ErrRetentionUnsupported)
	if cause != nil {
		err = fmt.Errorf("%w (%v)", err, cause) //nolint:errorlint // the cause is detail, not what to test for
	}
	return err
}

// retention reads the end of an object's retention period from its HEAD: the zero time if it
// has none, or it is over at now.
func retention(oi minio.ObjectInfo, now time.Time) (time.Time, error) {
	raw := oi.Metadata.Get(headerLockUntil)
	if raw == "" {
		return time.Time{}, nil
	}
	until, err := time.Parse(time.RFC3339, raw)
	if err != nil {
		return time.Time{}, fmt.Errorf("object lock %s %q: %w", oi.Metadata.Get(headerLockMode), raw, err)
	}
	if !until.After(now) {
		return time.Time{}, nil
	}
	return until, nil
}

// lockErr returns an error wrapping blob.ErrLocked if the object oi describes is under a
// retention period or a legal hold at now.
func lockErr(op, key string, oi minio.ObjectInfo, now time.Time) error {
	until, err := retention(oi, now)
	switch {
	case err != nil:
		return fmt.Errorf("%s %s: %w", op, key, err)
	case !until.IsZero():
		return blob.LockedError(op, key, until)
	case strings.EqualFold(oi.Metadata.Get(headerLegalHold), "ON"):
		return fmt.Errorf("%s %s: under a legal hold: %w", op, key, blob.ErrLocked)
	}
	return nil
}

// lockNotConfigured reports the refusal of an upload with lock settings into a bucket without
// object lock: AWS and versitygw answer 400 InvalidRequest "Bucket is missing Object Lock
// Configuration".
func lockNotConfigured(er minio.ErrorResponse) bool {
	return er.Code == "ObjectLockConfigurationNotFoundError" ||
		er.Code == "InvalidRequest" && mentionsObjectLock(er.Message)
}

// lockRefusal reports the refusal to delete or replace a locked object version: 403
// AccessDenied "... protected by object lock" from AWS and versitygw; MinIO says the object is
// "WORM protected".
func lockRefusal(er minio.ErrorResponse) bool {
	return er.Code == "AccessDenied" && mentionsObjectLock(er.Message) || er.Code == "ObjectLocked" ||
		strings.Contains(strings.ToLower(er.Message), "worm protected")
}

func mentionsObjectLock(msg string) bool {
	return strings.Contains(strings.ReplaceAll(strings.ToLower(msg), " ", ""), "objectlock")
}

// Retention implements blob.Locker.
func (s *Storage) Retention(ctx context.Context, key string) (time.Time, error) {
	if err := blob.ValidateKey(key); err != nil {
		return time.Time{}, err
	}
	oi, err := s.statObject(ctx, "retention", key)
	if err != nil {
		return time.Time{}, err
	}
	until, err := retention(oi, time.Now())
	if err != nil {
		return time.Time{}, fmt.Errorf("retention %s: %w", key, err)
	}
	return until, nil
}

// alreadyExists maps a refused If-None-Match: *. In a bucket that may be versioned, as every
// bucket with object lock is, it first makes sure there is an object: versitygw counts a
// delete marker as one, and a false blob.ErrAlreadyExists would have a caller skip writing
// data that is gone.
func (s *Storage) alreadyExists(ctx context.Context, key string, refusal error) error {
	if state, err := s.bucketLockState(ctx); err == nil && state == lockDisabled {
		return fmt.Errorf("put %s: %w", key, blob.ErrAlreadyExists)
	}
	_, err := s.statObject(ctx, "put", key)
	switch {
	case err == nil:
		return fmt.Errorf("put %s: %w", key, blob.ErrAlreadyExists)
	case errors.Is(err, blob.ErrNotFound):
		return fmt.Errorf("put %s: %s refused If-None-Match: * although the key has no current object (it counts a delete marker as one); put without IfNotExists, or remove the delete marker: %w",
			key, s.endpoint, refusal)
	}
	return err
}

// ExtendRetention implements blob.Locker: it sets the current version's retention period, in
// compliance mode, to until when that is later than the one it has (S3 refuses to shorten one).
func (s *Storage) ExtendRetention(ctx context.Context, key string, until time.Time) error {
	if err := blob.ValidateKey(key); err != nil {
		return err
	}
	if err := blob.CheckRetainUntil(key, until, time.Now()); err != nil {
		return err
	}
	state, err := s.bucketLockState(ctx)
	if err != nil {
		return fmt.Errorf("extend retention %s: read the object lock configuration of bucket %q: %w", key, s.bucket, err)
	}
	if state == lockDisabled {
		return s.unsupported(key, nil)
	}
	oi, err := s.statObject(ctx, "extend retention", key)
	if err != nil {
		return err
	}
	current, err := retention(oi, time.Now())
	if err != nil {
		return fmt.Errorf("extend retention %s: %w", key, err)
	}
	until = blob.RoundUpToSecond(until)
	if !until.After(current) {
		return nil
	}
	mode := minio.Compliance
	if err := s.client.PutObjectRetention(ctx, s.bucket, s.object(key), minio.PutObjectRetentionOptions{
		Mode: &mode, RetainUntilDate: &until, VersionID: oi.VersionID}); err != nil {
		return fmt.Errorf("extend retention %s: %w", key, s.mapErr(ctx, err))
	}
	return nil
}
