package ui_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/cairnbackup/cairn/internal/vault/access"
)

// TestDeleteAndBringBackARecoveryPoint: a contributor deletes a recovery point from its page; the
// page then says who deleted it and until when it is kept, offers no restore, and the deleted
// filter of the list shows it; an operator brings it back.
func TestDeleteAndBringBackARecoveryPoint(t *testing.T) {
	f := newFixture(t)
	page := "/recovery-points/" + f.point
	op := f.signedIn(t, access.RoleOperator)
	if _, body := op.get(page); strings.Contains(body, `data-action="delete-recovery-point"`) || !strings.Contains(body, `<dd id="locked">no</dd>`) {
		t.Fatalf("an operator's page:\n%s", body)
	}
	admin := f.signedIn(t, access.RoleContributor)
	res, _ := admin.post(page+"/delete", url.Values{"csrf": {admin.csrf()}})
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != page {
		t.Fatalf("delete: %d to %q", res.StatusCode, res.Header.Get("Location"))
	}
	_, body := op.get(page)
	if !strings.Contains(body, `id="deleted"`) || !strings.Contains(body, "Deleted by contributor-user") || strings.Contains(body, `data-action="restore"`) ||
		!strings.Contains(body, `data-action="undelete"`) {
		t.Fatalf("the deleted point's page:\n%s", body)
	}
	if _, list := op.get("/recovery-points?deleted=true"); !strings.Contains(list, f.point) {
		t.Errorf("the deleted filter lacks the point:\n%s", list)
	}
	if _, list := op.get("/recovery-points"); strings.Contains(list, f.point) {
		t.Errorf("the live list shows the deleted point")
	}
	if res, _ := op.post(page+"/undelete", url.Values{"csrf": {op.csrf()}}); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("undelete: %d", res.StatusCode)
	}
	if _, body := op.get(page); strings.Contains(body, `id="deleted"`) || !strings.Contains(body, `data-action="restore"`) {
		t.Fatalf("after undelete:\n%s", body)
	}
}
