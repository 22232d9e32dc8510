package ui

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"path"
	"strings"
)

//go:embed templates/*.html
var templateFiles embed.FS

// pages holds one template set per page: the layout plus the page's own file.
type pages map[string]*template.Template

// parsePages parses every templates/*.html page (not the layout and partials, which start
// with an underscore) with the layout and the partials.
func parsePages() (pages, error) {
	shared, err := fs.Glob(templateFiles, "templates/_*.html")
	if err != nil {
		return nil, err
	}
	all, err := fs.Glob(templateFiles, "templates/*.html")
	if err != nil {
		return nil, err
	}
	out := pages{}
	for _, file := range all {
		name := path.Base(file)
		if strings.HasPrefix(name, "_") {
			continue
		}
		t, err := template.New(name).Funcs(funcs).ParseFS(templateFiles, append([]string{file}, shared...)...)
		if err != nil {
			return nil, fmt.Errorf("ui: parse %s: %w", file, err)
		}
		out[strings.TrimSuffix(name, ".html")] = t
	}
	return out, nil
}

// view is what every page template gets: the page's own data in Data.
type view struct {
	Title   string
	Nav     string // the navigation entry to mark current
	Session *session
	Theme   string // light, dark or "" (follow the system)
	Path    string // the request's path and query, for the sign-in's "next" and the theme switch
	// Refresh, if set, is where the page goes by itself at once (a path of this site).
	Refresh string
	Data    any
}

// CanOperate and CanContribute let templates show the actions of the signed-in role.
func (v view) CanOperate() bool { return v.Session != nil && v.Session.canOperate() }

func (v view) CanContribute() bool { return v.Session != nil && v.Session.canContribute() }

// CSRF is the token state-changing forms carry.
func (v view) CSRF() string {
	if v.Session == nil {
		return ""
	}
	return v.Session.csrf
}

// Vault names the signed-in person's vault.
func (v view) Vault() string {
	if v.Session == nil {
		return ""
	}
	return v.Session.Vault
}

// Vaults are the vaults the session signed in to, for the header's switcher.
func (v view) Vaults() []vaultChoice {
	if v.Session == nil {
		return nil
	}
	out := make([]vaultChoice, len(v.Session.vaults))
	for i, sv := range v.Session.vaults {
		out[i] = vaultChoice{Vault: sv.Vault, Role: sv.Role, Shown: sv.Vault == v.Session.Vault}
	}
	return out
}

// Principal says who is signed in, for the header.
func (v view) Principal() string {
	if v.Session == nil {
		return ""
	}
	return ssoUser(v.Session.Name) + " · " + v.Session.Role
}

// render writes a whole page, or with fragment set only the named template of it (for htmx).
func (s *Server) render(w http.ResponseWriter, r *http.Request, status int, page, fragment string, v view) {
	t := s.pages[page]
	if t == nil {
		s.log.ErrorContext(r.Context(), "backup center page missing", "page", page)
		http.Error(w, "page template missing: "+page, http.StatusInternalServerError)
		return
	}
	v.Theme = themeOf(r)
	v.Path = r.URL.RequestURI()
	name := "layout"
	if fragment != "" {
		name = fragment
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, name, v); err != nil {
		s.log.ErrorContext(r.Context(), "backup center page did not render", "page", page, "error", err.Error())
		http.Error(w, "the page did not render: "+err.Error(), http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// renderError shows an error page with the status and what to do.
func (s *Server) renderError(w http.ResponseWriter, r *http.Request, sess *session, status int, message string) {
	s.render(w, r, status, "error", "", view{Title: http.StatusText(status), Session: sess,
		Data: struct {
			Status  int
			Message string
		}{status, message}})
}
