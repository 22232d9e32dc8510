package store

import (
	"slices"
	"testing"

	"github.com/cairnbackup/cairn/api/vaultv1"
)

// TestClusterNamespaces: a heartbeat's namespaces are stored sorted and read back by GetCluster
// and ListClusters; a heartbeat without them (an older agent, or one that could not list them)
// keeps the last known; re-registering a revoked cluster forgets them.
func TestClusterNamespaces(t *testing.T) {
	eachBackend(t, func(t *testing.T, st *Store) {
		ctx := t.Context()
		newVault(t, st)
		for _, name := range []string{"east", "west"} {
			if _, _, err := st.RegisterCluster(ctx, "prod", name); err != nil {
				t.Fatal(err)
			}
		}
		namespaces := func(name string) []string {
			t.Helper()
			c, err := st.GetCluster(ctx, "prod", name)
			if err != nil {
				t.Fatal(err)
			}
			list, err := st.ListClusters(ctx, "prod")
			if err != nil {
				t.Fatal(err)
			}
			for _, l := range list {
				if l.Name == name && !slices.Equal(l.Namespaces, c.Namespaces) {
					t.Errorf("%s: listed with namespaces %q, read with %q", name, l.Namespaces, c.Namespaces)
				}
			}
			return c.Namespaces
		}
		if got := namespaces("east"); got != nil {
			t.Fatalf("registered cluster: namespaces %q, want none", got)
		}

		beat := func(name string, ns []string) {
			t.Helper()
			if err := st.Heartbeat(ctx, "prod", name, Heartbeat{AgentVersion: "v0.7", KubernetesVersion: "v1.35.4", Namespaces: ns}); err != nil {
				t.Fatal(err)
			}
		}
		beat("east", []string{"shop", "default", "kube-system", "shop"})
		want := []string{"default", "kube-system", "shop"}
		if got := namespaces("east"); !slices.Equal(got, want) {
			t.Fatalf("after a heartbeat: %q, want %q", got, want)
		}
		if got := namespaces("west"); got != nil {
			t.Errorf("another cluster's heartbeat gave west %q", got)
		}

		beat("east", nil)
		if got := namespaces("east"); !slices.Equal(got, want) {
			t.Errorf("a heartbeat without namespaces changed them to %q, want %q kept", got, want)
		}
		if c, _ := st.GetCluster(ctx, "prod", "east"); c.AgentVersion != "v0.7" || c.Health != vaultv1.HealthHealthy {
			t.Errorf("a heartbeat without namespaces: %+v", c)
		}

		beat("east", []string{"default", "billing"})
		if got, want := namespaces("east"), []string{"billing", "default"}; !slices.Equal(got, want) {
			t.Errorf("a newer list: %q, want %q", got, want)
		}
		beat("east", []string{})
		if got := namespaces("east"); got != nil {
			t.Errorf("an empty list: %q, want none", got)
		}

		beat("east", []string{"default"})
		if _, err := st.RevokeCluster(ctx, "prod", "east"); err != nil {
			t.Fatal(err)
		}
		if got := namespaces("east"); !slices.Equal(got, []string{"default"}) {
			t.Errorf("a revoked cluster: %q, want the last list kept", got)
		}
		if _, _, err := st.RegisterCluster(ctx, "prod", "east"); err != nil {
			t.Fatal(err)
		}
		if got := namespaces("east"); got != nil {
			t.Errorf("re-registered: %q, want none until its new agent reports", got)
		}
	})
}

// TestClusterNamespacesMigration: clusters registered before migration 0005 read with no
// namespaces, and take them from their next heartbeat.
func TestClusterNamespacesMigration(t *testing.T) {
	eachBackendReopen(t, func(t *testing.T, open func() *Store) {
		ctx := t.Context()
		st := open()
		newVault(t, st)
		// Back to the schema before 0005, with a cluster in it.
		for _, stmt := range []string{`ALTER TABLE clusters DROP COLUMN namespaces`, `DELETE FROM schema_migrations WHERE version = '0005_cluster_namespaces'`} {
			if _, err := st.db.ExecContext(ctx, stmt); err != nil {
				t.Fatalf("%s: %v", stmt, err)
			}
		}
		if _, err := st.db.ExecContext(ctx, `INSERT INTO clusters (vault, name, agent_token_hash, registered_at, last_heartbeat, agent_version)
			VALUES ('prod', 'east', 'hash', $1, $1, 'v0.6')`, fixedClock()); err != nil {
			t.Fatal(err)
		}
		st.Close()

		st = open()
		c, err := st.GetCluster(ctx, "prod", "east")
		if err != nil || c.Namespaces != nil || c.AgentVersion != "v0.6" {
			t.Fatalf("after the migration: %+v %v", c, err)
		}
		if err := st.Heartbeat(ctx, "prod", "east", Heartbeat{AgentVersion: "v0.7", Namespaces: []string{"default"}}); err != nil {
			t.Fatal(err)
		}
		if c, _ = st.GetCluster(ctx, "prod", "east"); !slices.Equal(c.Namespaces, []string{"default"}) {
			t.Errorf("after a heartbeat: %+v", c)
		}
	})
}
