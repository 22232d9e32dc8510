package api

import (
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"

	"github.com/cairnbackup/cairn/api/v1alpha1"
	"github.com/cairnbackup/cairn/api/vaultv1"
	"github.com/cairnbackup/cairn/internal/blob/blobopen"
	"github.com/cairnbackup/cairn/internal/humanize"
	"github.com/cairnbackup/cairn/internal/scope"
	"github.com/cairnbackup/cairn/internal/secretref"
)

var (
	dnsLabel = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`)
)

// unprocessable is a 422 naming the field at fault.
func unprocessable(field, format string, args ...any) *apiError {
	return &apiError{status: http.StatusUnprocessableEntity, code: "invalid", field: field,
		message: field + ": " + fmt.Sprintf(format, args...)}
}

func validateDNSLabel(field, value string, max int) error {
	if value == "" {
		return unprocessable(field, "required")
	}
	if len(value) > max || !dnsLabel.MatchString(value) {
		return unprocessable(field, "%q must be 1-%d characters a-z, 0-9 or -, starting and ending with a letter or digit", value, max)
	}
	return nil
}

// maxInstanceName leaves room in recovery point names (<instance>-<yyyymmddhhmmss>[-n]) for the
// 63 characters a name may have.
const maxInstanceName = 40

func validateInstanceSpec(spec vaultv1.InstanceSpec) error {
	if err := validateDNSLabel("name", spec.Name, maxInstanceName); err != nil {
		return err
	}
	if spec.Cluster == "" {
		return unprocessable("cluster", "required: the registered cluster to protect")
	}
	if spec.Policy == "" {
		return unprocessable("policy", "required: the backup policy (cairn policy list)")
	}
	if err := validateStorage(spec.Storage); err != nil {
		return err
	}
	b := spec.Backup
	if _, err := scope.New(backupScope(b)); err != nil {
		return unprocessable("backup", "%s", err.Error())
	}
	if b.SnapshotClass != "" && !b.SnapshotVolumes {
		return unprocessable("backup.snapshotClass", "given without snapshotVolumes: true")
	}
	if b.VolumeData != "" && !slices.Contains(vaultv1.VolumeDataModes, b.VolumeData) {
		return unprocessable("backup.volumeData", "%q: use %s", b.VolumeData, humanize.OrList(vaultv1.VolumeDataModes))
	}
	if b.VolumeData != "" && b.VolumeData != vaultv1.VolumeDataModes[0] && !b.SnapshotVolumes {
		return unprocessable("backup.volumeData", "%s copies volumes from their snapshots: it needs snapshotVolumes: true", b.VolumeData)
	}
	return validateHookRefs("backup.backupHooks", b.BackupHooks)
}

func validateStorage(st vaultv1.StorageLocation) error {
	if st.URL == "" {
		return unprocessable("storage.url", "required, e.g. s3://bucket/prefix?endpoint=..., azblob://account/container or file:///path")
	}
	if err := blobopen.ValidateLocation(st.URL); err != nil {
		return unprocessable("storage.url", "%s", err.Error())
	}
	if st.PassphraseSecret == "" {
		return unprocessable("storage.passphraseSecret", "required: the name of the agent's secret holding the repository passphrase")
	}
	if err := secretref.Validate(st.PassphraseSecret); err != nil {
		return unprocessable("storage.passphraseSecret", "%s", err.Error())
	}
	return nil
}

func validateHookRefs(field string, refs []string) error {
	for i, ref := range refs {
		if _, _, err := v1alpha1.ParseHookRef(ref); err != nil {
			return unprocessable(fmt.Sprintf("%s[%d]", field, i), "%s", err.Error())
		}
	}
	return nil
}

func validateRestoreOptions(o vaultv1.RestoreOptions) error {
	if _, err := scope.New(restoreScope(o)); err != nil {
		return unprocessable("options", "%s", err.Error())
	}
	if o.ConflictPolicy != "" && !slices.Contains(vaultv1.ConflictPolicies, o.ConflictPolicy) {
		return unprocessable("options.conflictPolicy", "%q: use %s", o.ConflictPolicy, humanize.OrList(vaultv1.ConflictPolicies))
	}
	if o.Volumes != "" && !slices.Contains(vaultv1.VolumeModes, o.Volumes) {
		return unprocessable("options.volumes", "%q: use %s", o.Volumes, humanize.OrList(vaultv1.VolumeModes))
	}
	if o.VolumeSource != "" && !slices.Contains(vaultv1.VolumeSources, o.VolumeSource) {
		return unprocessable("options.volumeSource", "%q: use %s", o.VolumeSource, humanize.OrList(vaultv1.VolumeSources))
	}
	for from, to := range o.NamespaceMapping {
		for _, ns := range []string{from, to} {
			if !dnsLabel.MatchString(ns) || len(ns) > 63 {
				return unprocessable("options.namespaceMapping", "%q is not a namespace name", ns)
			}
		}
	}
	for _, n := range o.Names {
		if strings.TrimSpace(n) == "" {
			return unprocessable("options.names", "empty name pattern")
		}
	}
	return validateHookRefs("options.restoreHooks", o.RestoreHooks)
}

// backupScope is the engine's scope of an instance's backup configuration, to check its filters
// as a backup would.
func backupScope(c vaultv1.BackupConfig) scope.Spec {
	return scope.Spec{IncludedNamespaces: c.IncludeNamespaces, ExcludedNamespaces: c.ExcludeNamespaces,
		IncludedResources: c.IncludeResources, ExcludedResources: c.ExcludeResources,
		LabelSelectors: c.LabelSelectors, IncludeClusterResources: c.ClusterResources}
}

// restoreScope is the engine's scope of a restore's filters, to check them as a restore would.
func restoreScope(o vaultv1.RestoreOptions) scope.Spec {
	return scope.Spec{IncludedNamespaces: o.IncludeNamespaces, ExcludedNamespaces: o.ExcludeNamespaces,
		IncludedResources: o.IncludeResources, ExcludedResources: o.ExcludeResources,
		LabelSelectors: o.LabelSelectors, IncludeClusterResources: o.ClusterResources}
}
