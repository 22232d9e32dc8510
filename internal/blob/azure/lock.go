package azure

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	azblobblob "github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/bloberror"

	"github.com/cairnbackup/cairn/internal/blob"
)

// Retention periods, as this backend keeps them:
//
//   - They are blob-level immutability policies in Locked mode (a Locked policy can be extended
//     but neither shortened nor removed, by any credential), which need a container with
//     version-level immutability support. That support is asked of the container once per
//     Storage (Get Container Properties); a container without it fails a Put with a retention
//     period with blob.ErrRetentionUnsupported before anything is uploaded.
//   - The upload API cairn uses (staged blocks) cannot carry a policy, so it is set on the blob
//     right after the upload. If that fails, or the service does not confirm the policy, the
//     blob just uploaded is deleted again and the Put fails: no Put with a retention period
//     succeeds without the lock. (An overwrite failing there has lost the object it replaced.)
//   - The service refuses to delete a blob under a policy (409 BlobImmutableDueToPolicy, which
//     is blob.ErrLocked); as versioning may instead keep an overwritten or deleted blob as a
//     previous version, Put and Delete look at the blob first in a container that has (or may
//     have) immutability support, and refuse with blob.ErrLocked while its policy lasts.
//
// Azurite implements none of it: containers report no immutability support and it answers the
// policy calls with 501, so there every Put with a retention period fails.

// immutability is what is known of the container's version-level immutability support.
type immutability int

const (
	immutUnasked    immutability = iota
	immutEnabled                 // version-level immutability is enabled
	immutDisabled                // it is not (or the service does not say it is)
	immutUnreadable              // the container's properties cannot be read, e.g. with a container SAS
)

// containerImmutability asks for the container's properties once; a transient failure is
// returned and not remembered.
func (s *Storage) containerImmutability(ctx context.Context) (immutability, error) {
	s.immutMu.Lock()
	state := s.immut
	s.immutMu.Unlock()
	if state != immutUnasked {
		return state, nil
	}
	props, err := s.client.GetProperties(ctx, nil)
	switch {
	case err == nil && props.IsImmutableStorageWithVersioningEnabled != nil && *props.IsImmutableStorageWithVersioningEnabled:
		state = immutEnabled
	case err == nil:
		state = immutDisabled
	default:
		if mapped := mapErr(err); ctx.Err() != nil || blob.IsRetryable(mapped) {
			return immutUnasked, fmt.Errorf("read the properties of container %q: %w", s.container, mapped)
		}
		state = immutUnreadable
	}
	s.immutMu.Lock()
	s.immut = state
	s.immutMu.Unlock()
	return state, nil
}

// prepareLock runs before a Put uploads anything: it checks that the container can keep the
// retention period opts asks for, and that the Put does not overwrite a locked blob.
func (s *Storage) prepareLock(ctx context.Context, key string, opts blob.PutOptions) error {
	if opts.RetainUntil.IsZero() && opts.IfNotExists {
		return nil // it cannot overwrite anything
	}
	state, err := s.containerImmutability(ctx)
	if err != nil {
		return fmt.Errorf("put %s: %w", key, err)
	}
	if !opts.RetainUntil.IsZero() && state == immutDisabled {
		return s.unsupported(key, nil)
	}
	if opts.IfNotExists || state == immutDisabled {
		return nil
	}
	return s.checkUnlocked(ctx, "put", key)
}

// checkUnlocked returns an error wrapping blob.ErrLocked if key is under an immutability policy
// or a legal hold; a missing key is not locked.
func (s *Storage) checkUnlocked(ctx context.Context, op, key string) error {
	props, err := s.blobClient(key).GetProperties(ctx, nil)
	if err != nil {
		if err := s.keyErr(op, key, err); !errors.Is(err, blob.ErrNotFound) {
			return err
		}
		return nil
	}
	if until := activePolicy(props.ImmutabilityPolicyExpiresOn, time.Now()); !until.IsZero() {
		return blob.LockedError(op, key, until)
	}
	if props.LegalHold != nil && *props.LegalHold {
		return fmt.Errorf("%s %s: under a legal hold: %w", op, key, blob.ErrLocked)
	}
	return nil
}

// activePolicy returns the expiry of an immutability policy, or the zero time if there is none
// or it has expired at now.
func activePolicy(expiresOn *time.Time, now time.Time) time.Time {
	if expiresOn == nil || !expiresOn.After(now) {
		return time.Time{}
	}
	return *expiresOn
}

// lock sets a Locked immutability policy until until on the blob just uploaded, deleting the
// blob again if the policy is not confirmed.
func (s *Storage) lock(ctx context.Context, key string, until time.Time) error {
	mode := azblobblob.ImmutabilityPolicySettingLocked
	resp, err := s.blobClient(key).SetImmutabilityPolicy(ctx, blob.RoundUpToSecond(until), &azblobblob.SetImmutabilityPolicyOptions{Mode: &mode})
	var failure error
	switch {
	case err != nil && hasStatus(err, http.StatusNotImplemented): // Azurite
		failure = s.unsupported(key, mapErr(err))
	case err != nil && (ctx.Err() != nil || blob.IsRetryable(mapErr(err))):
		failure = fmt.Errorf("put %s: set immutability policy: %w", key, mapErr(err))
	case err != nil:
		failure = s.unsupported(key, mapErr(err))
	case resp.ImmutabilityPolicyExpiry == nil || resp.ImmutabilityPolicyExpiry.Before(until.Truncate(time.Second)):
		failure = s.unsupported(key, errors.New("the service did not confirm the immutability policy"))
	default:
		return nil
	}
	// The blob must not stay without its lock; this runs even when ctx is done.
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
	defer cancel()
	if _, derr := s.blobClient(key).Delete(dctx, nil); derr != nil && !bloberror.HasCode(derr, bloberror.BlobNotFound) {
		return fmt.Errorf("%w (and deleting the unlocked blob failed: %w)", failure, mapErr(derr))
	}
	return failure
}

// unsupported is the error of a Put asking for a retention period the container cannot keep.
func (s *Storage) unsupported(key string, cause error) error {
	err := fmt.Errorf("put %s: container %q of account %q cannot lock blobs; to lock recovery points, enable version-level immutability support on the container or the storage account: %w",
		key, s.container, s.account, blob.ErrRetentionUnsupported)
	if cause != nil {
		err = fmt.Errorf("%w (%v)", err, cause) //nolint:errorlint // the cause is detail, not what to test for
	}
	return err
}

// isLockRefusal reports the service's refusal to change a blob under an immutability policy or
// legal hold.
func isLockRefusal(err error) bool {
	var re *azcore.ResponseError
	return bloberror.HasCode(err, bloberror.BlobImmutableDueToPolicy) ||
		errors.As(err, &re) && re.StatusCode == http.StatusConflict && re.ErrorCode == "BlobImmutableDueToLegalHold"
}

// Retention implements blob.Locker.
func (s *Storage) Retention(ctx context.Context, key string) (time.Time, error) {
	if err := blob.ValidateKey(key); err != nil {
		return time.Time{}, err
	}
	props, err := s.blobClient(key).GetProperties(ctx, nil)
	if err != nil {
		return time.Time{}, s.keyErr("retention", key, err)
	}
	return activePolicy(props.ImmutabilityPolicyExpiresOn, time.Now()), nil
}

// ExtendRetention implements blob.Locker: it sets the blob's Locked immutability policy to until
// when that is later than the one it has (the service refuses to shorten a Locked policy).
func (s *Storage) ExtendRetention(ctx context.Context, key string, until time.Time) error {
	if err := blob.ValidateKey(key); err != nil {
		return err
	}
	if err := blob.CheckRetainUntil(key, until, time.Now()); err != nil {
		return err
	}
	state, err := s.containerImmutability(ctx)
	if err != nil {
		return fmt.Errorf("extend retention %s: %w", key, err)
	}
	if state == immutDisabled {
		return s.unsupported(key, nil)
	}
	props, err := s.blobClient(key).GetProperties(ctx, nil)
	if err != nil {
		return s.keyErr("extend retention", key, err)
	}
	until = blob.RoundUpToSecond(until)
	if !until.After(activePolicy(props.ImmutabilityPolicyExpiresOn, time.Now())) {
		return nil
	}
	mode := azblobblob.ImmutabilityPolicySettingLocked
	if _, err := s.blobClient(key).SetImmutabilityPolicy(ctx, until, &azblobblob.SetImmutabilityPolicyOptions{Mode: &mode}); err != nil {
		if hasStatus(err, http.StatusNotImplemented) {
			return s.unsupported(key, mapErr(err))
		}
		return fmt.Errorf("extend retention %s: set immutability policy: %w", key, mapErr(err))
	}
	return nil
}
