package store

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/cairnbackup/cairn/api/vaultv1"
)

func TestInstancesPageByName(t *testing.T) {
	eachBackend(t, func(t *testing.T, st *Store) {
		ctx := t.Context()
		newVault(t, st)
		for i := range 23 {
			protect(t, st, "east", fmt.Sprintf("app-%02d", 22-i))
		}
		protect(t, st, "west", "zeta")
		var names []string
		page := Page{Limit: 10}
		for {
			list, err := st.ListInstancesPage(ctx, "prod", InstanceFilter{Cluster: "east"}, page)
			if err != nil {
				t.Fatal(err)
			}
			for _, in := range list.Items {
				names = append(names, in.Name)
			}
			if list.Next == "" {
				break
			}
			page.Cursor = list.Next
		}
		if len(names) != 23 || names[0] != "app-00" || names[22] != "app-22" {
			t.Fatalf("names over the pages: %v", names)
		}
		if _, err := st.ListInstancesPage(ctx, "prod", InstanceFilter{}, Page{Cursor: "!!"}); !errors.Is(err, ErrInvalid) {
			t.Fatalf("bad cursor: %v", err)
		}
	})
}

func TestJobsSinceAndCounts(t *testing.T) {
	eachBackend(t, func(t *testing.T, st *Store) {
		ctx := t.Context()
		newVault(t, st)
		clk := withClock(st)
		in := protect(t, st, "east", "shop")
		old := backupJob(t, st, in, "old")
		clk.advance(2 * time.Hour)
		since := clk.now()
		recent := backupJob(t, st, in, "recent")
		if _, err := lifecycle(st).Cancel(ctx, "prod", old.ID, "test"); err != nil {
			t.Fatal(err)
		}
		list, err := st.ListJobs(ctx, "prod", JobFilter{Since: since}, Page{})
		if err != nil || len(list.Items) != 1 || list.Items[0].ID != recent.ID {
			t.Fatalf("jobs since: %+v %v", list.Items, err)
		}
		counts, err := st.JobCounts(ctx, "prod", since.Add(-3*time.Hour))
		if err != nil || counts[vaultv1.JobQueued] != 1 || counts[vaultv1.JobCancelled] != 1 || len(counts) != 2 {
			t.Fatalf("counts over both: %v %v", counts, err)
		}
		counts, err = st.JobCounts(ctx, "prod", since)
		if err != nil || counts[vaultv1.JobQueued] != 1 || len(counts) != 1 {
			t.Fatalf("counts since: %v %v", counts, err)
		}
	})
}

func TestInstancesByNameContains(t *testing.T) {
	eachBackend(t, func(t *testing.T, st *Store) {
		ctx := t.Context()
		newVault(t, st)
		for _, name := range []string{"shop-web", "shop-db", "payments", "shop-x", "shopax"} {
			protect(t, st, "east", name)
		}
		for contains, want := range map[string]string{"SHOP": "shop-db shop-web shop-x shopax", "p-x": "shop-x", "p_x": "", "%": "", "ments": "payments"} {
			list, err := st.ListInstancesPage(ctx, "prod", InstanceFilter{NameContains: contains}, Page{})
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, in := range list.Items {
				got = append(got, in.Name)
			}
			if strings.Join(got, " ") != want {
				t.Errorf("names containing %q: %v, want %s", contains, got, want)
			}
		}
	})
}
