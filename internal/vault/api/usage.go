package api

import (
	"math"
	"net/http"

	"github.com/cairnbackup/cairn/api/vaultv1"
	"github.com/cairnbackup/cairn/internal/vault/access"
	"github.com/cairnbackup/cairn/internal/vault/store"
)

const gib = 1 << 30

// usage sums each instance's live recovery points and prices them: a fee per protected namespace
// per month plus blob, snapshot and copy storage per GiB-month (docs/design/vault.md, "Usage").
// Stored bytes count what each backup added to its repository (deduplicated data counts once),
// snapshot bytes each claim's newest snapshot, copy bytes what the copies added.
func (s *Server) usage(w http.ResponseWriter, r *http.Request, p access.Principal) error {
	instances, err := s.st.ListInstances(r.Context(), p.Vault, store.InstanceFilter{})
	if err != nil {
		return err
	}
	feet, err := s.st.Footprints(r.Context(), p.Vault)
	if err != nil {
		return err
	}
	prices := s.cfg.Prices
	out := vaultv1.Usage{Prices: prices, Instances: []vaultv1.InstanceUsage{}}
	for _, in := range instances {
		u := vaultv1.InstanceUsage{Instance: in.Name, Cluster: in.Cluster}
		if f := feet[in.Name]; f != nil {
			u.RecoveryPoints, u.StoredBytes, u.SnapshotBytes, u.CopyBytes = f.RecoveryPoints, f.StoredBytes, f.SnapshotBytes, f.CopyBytes
			if in.State == vaultv1.InstanceProtected {
				u.ProtectedNamespaces = len(f.Namespaces)
			}
		}
		u.MonthlyCost = cents(float64(u.ProtectedNamespaces)*prices.NamespaceMonth +
			float64(u.StoredBytes)/gib*prices.StorageGiBMonth + float64(u.SnapshotBytes)/gib*prices.SnapshotGiBMonth +
			float64(u.CopyBytes)/gib*prices.CopyGiBMonth)
		out.Instances = append(out.Instances, u)
		out.Total.ProtectedNamespaces += u.ProtectedNamespaces
		out.Total.RecoveryPoints += u.RecoveryPoints
		out.Total.StoredBytes += u.StoredBytes
		out.Total.SnapshotBytes += u.SnapshotBytes
		out.Total.CopyBytes += u.CopyBytes
		out.Total.MonthlyCost = cents(out.Total.MonthlyCost + u.MonthlyCost)
	}
	return writeJSON(w, http.StatusOK, out)
}

func cents(v float64) float64 { return math.Round(v*100) / 100 }

func (s *Server) listAudit(w http.ResponseWriter, r *http.Request, p access.Principal) error {
	pg, err := page(r)
	if err != nil {
		return err
	}
	list, err := s.st.ListAudit(r.Context(), p.Vault, pg)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, apiList(list, apiAuditEntry))
}
