package ui

import (
	"net/http"

	"github.com/cairnbackup/cairn/api/vaultv1"
	"github.com/cairnbackup/cairn/internal/vault/access"
	"github.com/cairnbackup/cairn/internal/vault/client"
)

// tokensData is the tokens page: every token of the vault and, right after one was made, its
// secret (shown this once).
type tokensData struct {
	Tokens []vaultv1.Token
	New    *vaultv1.NewToken
	Roles  []string
}

// tokens lists the vault's tokens (contributors only: the API refuses the others).
func (s *Server) tokens(w http.ResponseWriter, r *http.Request, sess *session, c *client.Client) error {
	return s.renderTokens(w, r, sess, c, nil)
}

// createToken makes a token from the form and shows its secret once.
func (s *Server) createToken(w http.ResponseWriter, r *http.Request, sess *session, c *client.Client) error {
	t, err := c.CreateToken(r.Context(), r.PostFormValue("name"), r.PostFormValue("role"), r.PostFormValue("expiresIn"))
	if err != nil {
		return err
	}
	return s.renderTokens(w, r, sess, c, &t)
}

// revokeToken revokes the token named in the path; revoking the session's own token ends it at
// the next page.
func (s *Server) revokeToken(w http.ResponseWriter, r *http.Request, _ *session, c *client.Client) error {
	if err := c.RevokeToken(r.Context(), r.PathValue("name")); err != nil {
		return err
	}
	http.Redirect(w, r, "/tokens", http.StatusSeeOther)
	return nil
}

func (s *Server) renderTokens(w http.ResponseWriter, r *http.Request, sess *session, c *client.Client, made *vaultv1.NewToken) error {
	list, err := c.ListTokens(r.Context())
	if err != nil {
		return err
	}
	s.render(w, r, http.StatusOK, "tokens", "", view{Title: "Tokens", Nav: "tokens", Session: sess,
		Data: tokensData{Tokens: list, New: made, Roles: access.UserRoles}})
	return nil
}
