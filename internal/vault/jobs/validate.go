package jobs

import "github.com/cairnbackup/cairn/api/agentv1"

// ValidateJob validates the instance: its agent checks what a backup of it will need
// (docs/design/monitoring.md, "Validation before the first backup"); queued for trigger by by.
func ValidateJob(in Instance, trigger, by string) NewJob {
	return NewJob{Kind: KindValidate, Instance: in.Name, Cluster: in.Cluster, Trigger: trigger, CreatedBy: by,
		Spec: agentv1.JobSpec{Validate: &agentv1.ValidateJob{Instance: in.Name, Config: in.Backup, Storage: in.Storage}}}
}
