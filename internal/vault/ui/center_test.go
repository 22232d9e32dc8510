package ui_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/cairnbackup/cairn/internal/vault/access"
	"github.com/cairnbackup/cairn/internal/vault/store"
)

func TestSignInRequiredAndSessionCookie(t *testing.T) {
	f := newFixture(t)
	b := f.browser(t)
	for _, path := range []string{"/", "/jobs/1", "/instances/shop"} {
		res, _ := b.get(path)
		if res.StatusCode != http.StatusSeeOther || !strings.HasPrefix(res.Header.Get("Location"), "/signin") {
			t.Fatalf("GET %s signed out: %d to %q", path, res.StatusCode, res.Header.Get("Location"))
		}
	}
	res, body := b.post("/signin", url.Values{"token": {"not-a-token"}})
	if res.StatusCode != http.StatusUnauthorized || !strings.Contains(body, "unknown bearer token") {
		t.Fatalf("bad token: %d\n%s", res.StatusCode, body)
	}
	admin, err := f.st.CreateAdminToken(t.Context(), store.TokenSpec{Name: "root", ExpiresAt: time.Now().Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	res, body = b.post("/signin", url.Values{"token": {admin}})
	if res.StatusCode != http.StatusForbidden || !strings.Contains(body, "server administrator&#39;s token") {
		t.Fatalf("the administrator's token: %d\n%s", res.StatusCode, body)
	}
	res, _ = b.post("/signin", url.Values{"token": {f.tokens[access.RoleReader]}, "next": {"/jobs?state=failed"}})
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/jobs?state=failed" {
		t.Fatalf("sign in: %d to %q", res.StatusCode, res.Header.Get("Location"))
	}
	cookie := res.Cookies()[0]
	if !cookie.HttpOnly || cookie.SameSite != http.SameSiteStrictMode || strings.Contains(cookie.Value, f.tokens[access.RoleReader]) {
		t.Fatalf("session cookie %+v", cookie)
	}
	res, _ = b.post("/signin", url.Values{"token": {f.tokens[access.RoleReader]}, "next": {"//evil.example/"}})
	if res.Header.Get("Location") != "/" {
		t.Fatalf("next left the site: %q", res.Header.Get("Location"))
	}
	res, _ = b.post("/signout", url.Values{"csrf": {b.csrf()}})
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign out: %d", res.StatusCode)
	}
	if res, _ := b.get("/"); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("after sign out: %d", res.StatusCode)
	}
}

func TestEveryPageRenders(t *testing.T) {
	f := newFixture(t)
	b := f.signedIn(t, access.RoleOperator)
	for _, tc := range []struct{ path, want string }{
		{"/", `id="recent-jobs"`},
		{"/clusters", `href="/clusters/east"`},
		{"/clusters/east", "payments"},
		{"/instances", `href="/instances/shop"`},
		{"/instances/shop", `id="chart-storage"`},
		{"/policies", "every 1h"},
		{"/policies", "copy daily (UTC)"},
		{"/", "volume copies"},
		{"/recovery-points", f.point},
		{"/recovery-points/" + f.point, `data-action="restore"`},
		{"/restore?recoveryPoint=" + f.point, `name="namespaceMapping"`},
		{"/jobs", fmt.Sprintf(`data-job-id="%d"`, f.failedJob)},
		{"/jobs?state=failed&kind=backup", fmt.Sprintf(`data-job-id="%d"`, f.failedJob)},
		{fmt.Sprintf("/jobs/%d", f.failedJob), "passphrase secret repo-passphrase not found"},
		{fmt.Sprintf("/jobs/%d", f.dryRunJob), `id="restore-diff"`},
		{"/audit", "Audit log"},
	} {
		res, body := b.get(tc.path)
		if res.StatusCode != http.StatusOK || !strings.Contains(body, tc.want) {
			t.Errorf("GET %s: %d, want %q in\n%s", tc.path, res.StatusCode, tc.want, body)
		}
		if csp := res.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") {
			t.Errorf("GET %s: CSP %q", tc.path, csp)
		}
	}
	for _, path := range []string{"/nothing", "/jobs/999", "/jobs/x", "/instances/none"} {
		if res, _ := b.get(path); res.StatusCode != http.StatusNotFound {
			t.Errorf("GET %s: %d, want 404", path, res.StatusCode)
		}
	}
}

func TestOverviewPutsFailuresFirstAndFlagsUnprotectedNamespaces(t *testing.T) {
	f := newFixture(t)
	_, body := f.signedIn(t, access.RoleReader).get("/")
	rows := strings.Index(body, `<tbody><tr data-job-id="`)
	first := fmt.Sprintf(`<tbody><tr data-job-id="%d" data-state="failed">`, f.failedJob)
	if rows < 0 || !strings.Contains(body, first) {
		t.Fatalf("the failed job is not the first row:\n%s", body)
	}
	for _, ns := range []string{"payments", "kube-system"} {
		if !strings.Contains(body, `<span class="ns-unprotected">`+ns+`</span>`) {
			t.Errorf("namespace %s not flagged unprotected", ns)
		}
	}
	if strings.Contains(body, `<span class="ns-unprotected">shop</span>`) {
		t.Error("namespace shop, which instance shop protects, is flagged")
	}
	if !strings.Contains(body, "1 / 3") {
		t.Errorf("want 1 / 3 namespaces protected:\n%s", body)
	}
	// shop's newest good point is 3 hours old; hourly backups have an objective of 2 hours.
	breached := body[strings.Index(body, `id="rpo-breached"`)+1:]
	if !strings.Contains(body, `<div class="card alert" id="rpo-card"><div class="big">1</div>`) ||
		!strings.Contains(breached, `<tr class="flag"><td><a href="/instances/shop">shop</a></td><td>east</td><td>2h</td>`) {
		t.Errorf("shop is not flagged as breaching its recovery point objective:\n%s", body)
	}
	_, page := f.signedIn(t, access.RoleReader).get("/instances/shop")
	if !strings.Contains(page, `<dd id="rpo">2h: <span class="state state-breached">breached</span>`) {
		t.Errorf("the instance page does not show the breach:\n%s", page)
	}
}

func TestOutputIsEscaped(t *testing.T) {
	f := newFixture(t)
	_, body := f.signedIn(t, access.RoleReader).get(fmt.Sprintf("/jobs/%d", f.failedJob))
	if strings.Contains(body, `<script>alert`) || !strings.Contains(body, "&lt;script&gt;alert") {
		t.Fatalf("the job's error is not escaped:\n%s", body)
	}
}

func TestReaderSeesNoActionsAndIsRefused(t *testing.T) {
	f := newFixture(t)
	b := f.signedIn(t, access.RoleReader)
	for _, path := range []string{"/", "/instances/shop", "/recovery-points/" + f.point, fmt.Sprintf("/jobs/%d", f.dryRunJob)} {
		if _, body := b.get(path); strings.Contains(body, "data-action") {
			t.Errorf("GET %s as reader shows an action", path)
		}
	}
	res, body := b.post("/instances/shop/backup", url.Values{"csrf": {b.csrf()}})
	if res.StatusCode != http.StatusForbidden || !strings.Contains(body, "needs the operator role") {
		t.Fatalf("reader backup now: %d\n%s", res.StatusCode, body)
	}
	audit, err := f.st.ListAudit(t.Context(), "prod", store.Page{})
	must(t, err)
	if len(audit.Items) == 0 || audit.Items[0].Status != http.StatusForbidden || audit.Items[0].Principal != "reader-user" {
		t.Fatalf("the refusal is not audited: %+v", audit.Items)
	}
}

func TestOperatorBacksUpNowAndRestoresForReal(t *testing.T) {
	f := newFixture(t)
	b := f.signedIn(t, access.RoleOperator)
	csrf := b.csrf()
	res, _ := b.post("/instances/shop/backup", url.Values{"csrf": {csrf}})
	if res.StatusCode != http.StatusSeeOther || !strings.HasPrefix(res.Header.Get("Location"), "/jobs/") {
		t.Fatalf("backup now: %d to %q", res.StatusCode, res.Header.Get("Location"))
	}
	_, live := b.get(res.Header.Get("Location") + "/live")
	if !strings.Contains(live, `hx-trigger="every 2s"`) || strings.Contains(live, "<html") {
		t.Fatalf("the live fragment of a queued job:\n%s", live)
	}
	res, _ = b.post(fmt.Sprintf("/jobs/%d/restore", f.dryRunJob), url.Values{"csrf": {csrf}})
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("restore for real: %d", res.StatusCode)
	}
	var id int64
	if _, err := fmt.Sscanf(res.Header.Get("Location"), "/jobs/%d", &id); err != nil {
		t.Fatal(err)
	}
	j, err := f.jobs().Get(t.Context(), "prod", id)
	must(t, err)
	if o := j.Spec.Restore.Options; o.DryRun || o.NamespaceMapping["shop"] != "shop-copy" {
		t.Fatalf("the real restore's options: %+v", o)
	}
}

func TestRestoreFormShowsWhatIsWrong(t *testing.T) {
	f := newFixture(t)
	b := f.signedIn(t, access.RoleOperator)
	res, body := b.post("/restore", url.Values{"csrf": {b.csrf()}, "recoveryPoint": {f.point}, "namespaceMapping": {"shop"}, "dryRun": {"true"}})
	if res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, "write each as FROM=TO") || !strings.Contains(body, `value="shop"`) {
		t.Fatalf("bad mapping: %d\n%s", res.StatusCode, body)
	}
	res, body = b.post("/restore", url.Values{"csrf": {b.csrf()}, "recoveryPoint": {f.point}, "conflictPolicy": {"overwrite"}, "dryRun": {"true"}})
	if res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, "overwrite") {
		t.Fatalf("bad conflict policy: %d\n%s", res.StatusCode, body)
	}
	res, _ = b.post("/restore", url.Values{"csrf": {b.csrf()}, "recoveryPoint": {f.point}, "namespaceMapping": {"shop=shop-copy"}, "dryRun": {"true"}})
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("good restore: %d", res.StatusCode)
	}
}

func TestStateChangesNeedCSRFAndOrigin(t *testing.T) {
	f := newFixture(t)
	b := f.signedIn(t, access.RoleContributor)
	if res, body := b.post("/instances/shop/stop", url.Values{}); res.StatusCode != http.StatusForbidden || !strings.Contains(body, "stale") {
		t.Fatalf("without CSRF token: %d", res.StatusCode)
	}
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, b.base+"/instances/shop/stop", strings.NewReader(url.Values{"csrf": {b.csrf()}}.Encode()))
	must(t, err)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", "http://evil.example")
	if res, _ := b.do(req); res.StatusCode != http.StatusForbidden {
		t.Fatalf("foreign origin: %d", res.StatusCode)
	}
	in, err := f.st.GetInstance(t.Context(), "prod", "shop")
	must(t, err)
	if in.State != "protected" {
		t.Fatalf("a refused request changed the instance: %s", in.State)
	}
	if res, _ := b.post("/instances/shop/stop", url.Values{"csrf": {b.csrf()}}); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("stop with CSRF token: %d", res.StatusCode)
	}
}

func TestAssetsAreEmbedded(t *testing.T) {
	f := newFixture(t)
	b := f.browser(t)
	for _, path := range []string{"/static/htmx/htmx.min.js", "/static/cairn.css", "/static/cairn.svg"} {
		if res, body := b.get(path); res.StatusCode != http.StatusOK || len(body) < 100 {
			t.Errorf("GET %s: %d, %d bytes", path, res.StatusCode, len(body))
		}
	}
}

func TestSearchGoesToWhatANameNames(t *testing.T) {
	f := newFixture(t)
	b := f.signedIn(t, access.RoleReader)
	for q, want := range map[string]string{
		"shop":                          "/instances/shop",
		"east":                          "/clusters/east",
		f.point:                         "/recovery-points/" + f.point,
		fmt.Sprintf("#%d", f.failedJob): fmt.Sprintf("/jobs/%d", f.failedJob),
	} {
		res, _ := b.get("/search?q=" + url.QueryEscape(q))
		if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != want {
			t.Errorf("search %q: %d to %q, want %q", q, res.StatusCode, res.Header.Get("Location"), want)
		}
	}
	res, _ := b.get("/search?q=SHO")
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/instances?name=SHO" {
		t.Fatalf("search for part of a name: %d to %q", res.StatusCode, res.Header.Get("Location"))
	}
	if _, body := b.get("/instances?name=SHO"); !strings.Contains(body, `href="/instances/shop"`) {
		t.Errorf("instances whose names contain SHO: shop is not listed:\n%s", body)
	}
	if _, body := b.get("/instances?name=nothing"); !strings.Contains(body, "No instance matches") {
		t.Errorf("instances whose names contain nothing: not empty:\n%s", body)
	}
}

func TestThemeChoiceIsKept(t *testing.T) {
	f := newFixture(t)
	b := f.signedIn(t, access.RoleReader)
	res, _ := b.post("/theme", url.Values{"csrf": {b.csrf()}, "theme": {"dark"}, "next": {"/jobs"}})
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/jobs" {
		t.Fatalf("theme: %d to %q", res.StatusCode, res.Header.Get("Location"))
	}
	if _, body := b.get("/jobs"); !strings.Contains(body, `<html lang="en" data-theme="dark">`) {
		t.Fatal("the dark theme is not applied")
	}
	b.post("/theme", url.Values{"csrf": {b.csrf()}, "theme": {"auto"}})
	if _, body := b.get("/jobs"); !strings.Contains(body, `<html lang="en">`) {
		t.Fatal("back to the system's theme: data-theme still set")
	}
}
