package policy

// Policy is a backup policy: when to back up and how long to keep what.
type Policy struct {
	Name      string    `json:"name"`
	Schedule  Schedule  `json:"schedule"`
	Retention Retention `json:"retention"`
}
